import { useState, type FormEvent } from "react";
import { api } from "../../api/client";
import { failureKey } from "../../api/failure";
import { Field } from "../../components/Field";
import { PageHeading } from "../../components/PageHeading";
import { useI18n, type MessageKey } from "../../i18n";
import { useRouter } from "../../router";
import { useAdminSession } from "./session";

export function LoginPage() {
  const { t } = useI18n();
  const { navigate } = useRouter();
  const { signedIn } = useAdminSession();
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<MessageKey | null>(null);
  const [busy, setBusy] = useState(false);

  async function onSubmit(e: FormEvent) {
    e.preventDefault();
    if (!email.trim() || !password) {
      setError("login.empty");
      document.getElementById(email.trim() ? "login-password" : "login-email")?.focus();
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const s = await api.login(email.trim(), password);
      signedIn(s);
      navigate(s.mfa === "verify" || s.mfa === "enrol" ? "/admin/mfa" : "/admin");
    } catch (err) {
      setError(failureKey(err, { 400: "login.failed", 401: "login.failed" }));
      document.getElementById("login-email")?.focus();
    } finally {
      setBusy(false);
    }
  }

  // One message for both fields (the server does not say which one is wrong):
  // both are marked and point at it; it is announced when it appears.
  const marked = error === "login.failed" || error === "login.empty";
  const aria = (own: object) => ({ ...own, ...(marked ? { "aria-invalid": true, "aria-describedby": "login-error" } : {}) });
  return (
    <>
      <PageHeading title={t("login.title")} />
      <div role="alert">
        {error && (
          <p className="alert" id="login-error">
            {t(error)}
          </p>
        )}
      </div>
      <form onSubmit={onSubmit} aria-label={t("login.title")} noValidate>
        <Field id="login-email" label={t("login.email")}>
          {(a) => <input {...aria(a)} type="email" autoComplete="username" required value={email} onChange={(e) => setEmail(e.target.value)} />}
        </Field>
        <Field id="login-password" label={t("login.password")}>
          {(a) => <input {...aria(a)} type="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} />}
        </Field>
        <button type="submit" disabled={busy}>
          {t("login.submit")}
        </button>
      </form>
    </>
  );
}
