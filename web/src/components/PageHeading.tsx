import { useEffect, useRef, type ReactNode } from "react";
import { useI18n } from "../i18n";
import { useRouter } from "../router";

/**
 * A page's h1, and its title in the tab. Pages render it only once their
 * content is there, so after a move the focus lands on the heading of a page
 * that can be read (a screen reader announces it; Tab goes on from there).
 */
export function PageHeading({ title, children }: { title: string; children?: ReactNode }) {
  const ref = useRef<HTMLHeadingElement>(null);
  const { takeFocus } = useRouter();
  useDocumentTitle(title);
  useEffect(() => {
    if (takeFocus()) ref.current?.focus();
  }, [takeFocus]);
  return (
    <h1 tabIndex={-1} ref={ref}>
      {children ?? title}
    </h1>
  );
}

/** "Page · LoanDesk": the tab, the history and a screen reader name the page. */
export function useDocumentTitle(title: string) {
  const { t } = useI18n();
  const app = t("app.name");
  useEffect(() => {
    document.title = title === app ? app : `${title} · ${app}`;
  }, [title, app]);
}

/** Said while a page waits for its content; titles the tab meanwhile. */
export function Loading() {
  const { t } = useI18n();
  useDocumentTitle(t("loading"));
  return <p role="status">{t("loading")}</p>;
}
