import type { ReactNode } from "react";

// A labelled control whose hint and error are tied to it for screen readers.
export function Field(props: {
  id: string;
  label: string;
  hint?: string | undefined;
  error?: string | undefined;
  /** Say the error out loud when it appears (for forms with one field and no summary). */
  announce?: boolean;
  children: (aria: { id: string; "aria-invalid": boolean; "aria-describedby"?: string }) => ReactNode;
}) {
  const { id, label, hint, error, announce, children } = props;
  const described = [hint ? `${id}-hint` : "", error ? `${id}-error` : ""].filter(Boolean).join(" ");
  return (
    <div className={error ? "field field-error" : "field"}>
      <label htmlFor={id}>{label}</label>
      {hint && (
        <p className="hint" id={`${id}-hint`}>
          {hint}
        </p>
      )}
      {children({ id, "aria-invalid": Boolean(error), ...(described ? { "aria-describedby": described } : {}) })}
      {/* The live region is there before the error, so it is announced. */}
      {announce ? (
        <div role="alert">{error && <p className="error" id={`${id}-error`}>{error}</p>}</div>
      ) : (
        error && (
          <p className="error" id={`${id}-error`}>
            {error}
          </p>
        )
      )}
    </div>
  );
}
