import { useState, type FormEvent } from "react";
import { ApiError, api } from "../../api/client";
import { failureKey } from "../../api/failure";
import { Field } from "../../components/Field";
import { PageHeading } from "../../components/PageHeading";
import { useI18n, type MessageKey } from "../../i18n";
import { useAdminSession, useSignedIn } from "./session";

type Name = "pw-current" | "pw-new" | "pw-confirm";
type Problems = Partial<Record<Name, MessageKey>>;
const order: Name[] = ["pw-current", "pw-new", "pw-confirm"];

/** What the form can tell before asking the server (which checks again). */
function check(current: string, next: string, confirm: string): Problems {
  const p: Problems = {};
  if (!current) p["pw-current"] = "password.err.current.empty";
  // Characters as the server counts them (code points), not UTF-16 units.
  if ([...next].length < 12) p["pw-new"] = "password.err.new.short";
  else if (next === current) p["pw-new"] = "password.err.new.same";
  if (!p["pw-new"] && confirm !== next) p["pw-confirm"] = "password.err.confirm";
  return p;
}

/**
 * An admin changes their own password. The server ends every other session
 * of the account and answers with this browser's new one (a new CSRF token).
 */
export function PasswordPage() {
  const { t } = useI18n();
  const email = useSignedIn();
  const { signedIn, onError } = useAdminSession();
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const [confirm, setConfirm] = useState("");
  const [problems, setProblems] = useState<Problems>({});
  const [failure, setFailure] = useState<MessageKey | null>(null);
  const [done, setDone] = useState(false);
  const [busy, setBusy] = useState(false);

  function show(p: Problems) {
    setProblems(p);
    const first = order.find((n) => p[n]);
    if (first) document.getElementById(first)?.focus();
  }

  async function onSubmit(e: FormEvent) {
    e.preventDefault();
    setDone(false);
    setFailure(null);
    const p = check(current, next, confirm);
    if (Object.keys(p).length) return show(p);
    setProblems({});
    setBusy(true);
    try {
      signedIn(await api.changePassword(current, next));
      setCurrent("");
      setNext("");
      setConfirm("");
      setDone(true);
    } catch (err) {
      const fields = err instanceof ApiError && err.status === 400 ? err.fieldErrors : {};
      if (fields["current_password"]) show({ "pw-current": "password.err.current.wrong" });
      else if (fields["new_password"]) show({ "pw-new": "password.err.new.rules" });
      else {
        onError(err); // a session that ended goes to the login page
        setFailure(failureKey(err));
      }
    } finally {
      setBusy(false);
    }
  }

  if (!email) return null;
  const err = (n: Name) => (problems[n] ? t(problems[n]) : undefined);
  const first = order.find((n) => problems[n]);
  return (
    <>
      <PageHeading title={t("password.title")} />
      <div role="alert">
        {(failure ?? first) && <p className="alert">{failure ? t(failure) : t("password.fix")}</p>}
      </div>
      <div role="status">{done && <p className="notice">{t("password.done")}</p>}</div>
      <form onSubmit={onSubmit} aria-label={t("password.title")} noValidate>
        {/* The account's name, for password managers: which entry to update. */}
        <input type="email" autoComplete="username" value={email} readOnly hidden />
        <Field id="pw-current" label={t("password.current")} error={err("pw-current")}>
          {(a) => <input {...a} type="password" autoComplete="current-password" required value={current} onChange={(e) => setCurrent(e.target.value)} />}
        </Field>
        <Field id="pw-new" label={t("password.new")} hint={t("password.new.hint")} error={err("pw-new")}>
          {(a) => <input {...a} type="password" autoComplete="new-password" required minLength={12} value={next} onChange={(e) => setNext(e.target.value)} />}
        </Field>
        <Field id="pw-confirm" label={t("password.confirm")} error={err("pw-confirm")}>
          {(a) => <input {...a} type="password" autoComplete="new-password" required value={confirm} onChange={(e) => setConfirm(e.target.value)} />}
        </Field>
        <button type="submit" disabled={busy}>
          {t("password.submit")}
        </button>
      </form>
    </>
  );
}
