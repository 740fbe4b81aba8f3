// Pieces every layout shares.
import { useI18n } from "../i18n";

export function LangButton() {
  const { t, lang, setLang } = useI18n();
  // Named by what it shows, in the language it switches to.
  return (
    <button type="button" className="lang" lang={lang === "es" ? "en" : "es"} onClick={() => setLang(lang === "es" ? "en" : "es")}>
      {t("lang.switch")}
    </button>
  );
}

export function SkipLink() {
  const { t } = useI18n();
  return (
    <a className="skip" href="#main">
      {t("skip")}
    </a>
  );
}
