import { useState, type FormEvent } from "react";
import { ApiError, api } from "../api/client";
import { Field } from "../components/Field";
import { useI18n } from "../i18n";
import { useRouter } from "../router";
import { recentReceipts } from "./ApplyPage";

export function TrackPage() {
  const { t } = useI18n();
  const { navigate } = useRouter();
  const [code, setCode] = useState("");
  const [error, setError] = useState<string | undefined>();

  async function onSubmit(e: FormEvent) {
    e.preventDefault();
    const c = code.trim().toUpperCase();
    if (!/^LD-[0-9A-Z]{10}$/.test(c)) {
      setError(t("track.notfound"));
      document.getElementById("code")?.focus();
      return;
    }
    try {
      const r = await api.track(c);
      recentReceipts.set(c, r);
      navigate(`/requests/${c}`);
    } catch (err) {
      setError(t(err instanceof ApiError && err.status === 404 ? "track.notfound" : "err.network"));
      document.getElementById("code")?.focus();
    }
  }

  return (
    <>
      <h1 tabIndex={-1}>{t("track.title")}</h1>
      <form onSubmit={onSubmit} noValidate aria-label={t("track.title")}>
        <Field id="code" label={t("track.label")} hint={t("track.hint")} error={error}>
          {(aria) => <input {...aria} name="code" autoComplete="off" value={code} onChange={(e) => { setCode(e.target.value); setError(undefined); }} />}
        </Field>
        <button type="submit">{t("track.submit")}</button>
      </form>
    </>
  );
}
