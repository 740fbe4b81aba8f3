import { useEffect, useRef, useState, type FormEvent } from "react";
import { ApiError, api, type Enrolment, type Session } from "../../api/client";
import { failureKey } from "../../api/failure";
import { Field } from "../../components/Field";
import { PageHeading } from "../../components/PageHeading";
import { useI18n, type MessageKey } from "../../i18n";
import { Link, useRouter } from "../../router";
import { useAdminSession } from "./session";

/**
 * Two-step login (TOTP): a login's second step (the app's code or a
 * recovery code), the set-up (required in production before the desk
 * opens, each admin's choice in development), and the recovery codes,
 * shown once. State lives here, not in the parts: the session changes
 * under them (signedIn) while they are still on screen.
 */
export function MfaPage() {
  const { t } = useI18n();
  const { navigate } = useRouter();
  const { state, signedIn, onError } = useAdminSession();
  const [code, setCode] = useState("");
  const [codeError, setCodeError] = useState<MessageKey | null>(null);
  const [failure, setFailure] = useState<MessageKey | null>(null);
  const [busy, setBusy] = useState(false);
  const [enrolment, setEnrolment] = useState<Enrolment | null>(null);
  const [codes, setCodes] = useState<string[] | null>(null);
  const [left, setLeft] = useState<number | null>(null);
  const scanRef = useRef<HTMLHeadingElement>(null);
  const viewRef = useRef<HTMLDivElement>(null);

  useEffect(() => {
    if (state.status === "out") navigate("/admin/login", { replace: true });
  }, [state, navigate]);
  useEffect(() => {
    if (enrolment) scanRef.current?.focus();
  }, [enrolment]);
  // The codes, or the count of those left, replace the form without a move
  // to another page: the focus goes to their heading, so it is read out.
  useEffect(() => {
    if (codes || left !== null) viewRef.current?.querySelector("h1")?.focus();
  }, [codes, left]);

  /** Sends the code to step; a wrong one is marked at the field, the rest said above the form. */
  async function submit(e: FormEvent, step: (code: string) => Promise<Session>, then: (s: Session) => void) {
    e.preventDefault();
    setFailure(null);
    const c = code.trim();
    if (!c) {
      setCodeError("mfa.err.empty");
      document.getElementById("mfa-code")?.focus();
      return;
    }
    setCodeError(null);
    setBusy(true);
    try {
      const s = await step(c);
      setCode("");
      signedIn(s);
      then(s);
    } catch (err) {
      if (err instanceof ApiError && err.status === 400 && err.fieldErrors["code"]) {
        setCodeError("mfa.err.wrong");
        document.getElementById("mfa-code")?.focus();
      } else {
        onError(err); // a step that ended (10 minutes) goes back to the login
        setFailure(failureKey(err));
      }
    } finally {
      setBusy(false);
    }
  }

  async function start() {
    setFailure(null);
    setBusy(true);
    try {
      setEnrolment(await api.startEnrolment());
    } catch (err) {
      onError(err);
      setFailure(failureKey(err, { 409: "mfa.on" }));
    } finally {
      setBusy(false);
    }
  }

  const alert = (
    <div role="alert">
      {failure && <p className="alert">{t(failure)}</p>}
    </div>
  );
  const codeField = (
    <Field id="mfa-code" label={t("mfa.code")} hint={enrolment ? undefined : t("mfa.code.hint")} error={codeError ? t(codeError) : undefined}>
      {(a) => (
        <input {...a} type="text" inputMode={enrolment ? "numeric" : "text"} autoComplete="one-time-code" spellCheck={false} maxLength={64} required value={code} onChange={(e) => setCode(e.target.value)} />
      )}
    </Field>
  );

  if (codes) {
    return (
      <div ref={viewRef}>
        <PageHeading title={t("mfa.codes.title")} />
        <p>{t("mfa.codes.intro")}</p>
        <ul className="recovery-codes" aria-label={t("mfa.codes.list")}>
          {codes.map((c) => (
            <li key={c}>
              <code>{c}</code>
            </li>
          ))}
        </ul>
        <button type="button" onClick={() => navigate("/admin")}>
          {t("mfa.codes.done")}
        </button>
      </div>
    );
  }
  if (left !== null) {
    return (
      <div ref={viewRef}>
        <PageHeading title={t("mfa.verify.title")} />
        <p className="notice">{t("mfa.recovery.left", { n: String(left) })}</p>
        <Link to="/admin">{t("admin.title")}</Link>
      </div>
    );
  }
  if (state.status === "step" && state.step === "verify") {
    return (
      <>
        <PageHeading title={t("mfa.verify.title")} />
        {alert}
        <p>{t("mfa.verify.intro")}</p>
        <form
          onSubmit={(e) =>
            void submit(e, api.verifyMfa, (s) => {
              if (s.recovery_codes_left === undefined) navigate("/admin");
              else setLeft(s.recovery_codes_left);
            })
          }
          aria-label={t("mfa.verify.title")}
          noValidate
        >
          {codeField}
          <button type="submit" disabled={busy}>
            {t("mfa.verify.submit")}
          </button>
        </form>
      </>
    );
  }
  if (state.status === "in" && state.mfa) {
    return (
      <>
        <PageHeading title={t("mfa.nav")} />
        <p>{t("mfa.on")}</p>
      </>
    );
  }
  if (state.status !== "in" && state.status !== "step") return null;
  return (
    <>
      <PageHeading title={t("mfa.enrol.title")} />
      {alert}
      {state.status === "step" && <p>{t("mfa.enrol.required")}</p>}
      <p>{t("mfa.enrol.intro")}</p>
      {!enrolment ? (
        <button type="button" onClick={() => void start()} disabled={busy}>
          {t("mfa.enrol.start")}
        </button>
      ) : (
        <>
          <h2 tabIndex={-1} ref={scanRef}>
            {t("mfa.enrol.scan")}
          </h2>
          <img className="qr" src={enrolment.qr_code} alt={t("mfa.enrol.qr")} width={240} height={240} />
          <p>
            {t("mfa.enrol.manual")} <code className="secret">{enrolment.secret}</code>
          </p>
          <h2>{t("mfa.enrol.confirm")}</h2>
          <form onSubmit={(e) => void submit(e, api.confirmEnrolment, (s) => setCodes(s.recovery_codes ?? []))} aria-label={t("mfa.enrol.title")} noValidate>
            {codeField}
            <button type="submit" disabled={busy}>
              {t("mfa.enrol.submit")}
            </button>
          </form>
        </>
      )}
    </>
  );
}
