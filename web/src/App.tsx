import { useEffect, useRef } from "react";
import { I18nProvider, useI18n } from "./i18n";
import { ApplyPage } from "./pages/ApplyPage";
import { DecisionPage } from "./pages/DecisionPage";
import { TrackPage } from "./pages/TrackPage";
import { DashboardPage, LoginPage, RequestPage } from "./pages/admin";
import { Link, RouterProvider, match, useRouter } from "./router";

function Page() {
  const { path } = useRouter();
  const { t } = useI18n();
  let m: Record<string, string> | null;
  if (path === "/" || path === "") return <ApplyPage />;
  if (path === "/status") return <TrackPage />;
  if ((m = match("/requests/:code", path))) return <DecisionPage code={m["code"] ?? ""} />;
  if (path === "/admin/login") return <LoginPage />;
  if (path === "/admin" || path === "/admin/") return <DashboardPage />;
  if ((m = match("/admin/requests/:id", path)) && /^\d+$/.test(m["id"] ?? "")) return <RequestPage id={Number(m["id"])} />;
  return <h1 tabIndex={-1}>{t("notfound.title")}</h1>;
}

function Layout() {
  const { t, lang, setLang } = useI18n();
  const { path } = useRouter();
  const main = useRef<HTMLElement>(null);
  // After navigation, move focus to the new page's heading so screen
  // readers announce it (a SPA does not reload the page).
  const first = useRef(true);
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    main.current?.querySelector<HTMLElement>("h1")?.focus();
  }, [path]);
  return (
    <>
      <a className="skip" href="#main">
        {t("skip")}
      </a>
      <header>
        <Link to="/" className="brand">
          {t("app.name")}
        </Link>
        <nav aria-label="LoanDesk">
          <Link to="/">{t("nav.apply")}</Link>
          <Link to="/status">{t("nav.status")}</Link>
          <Link to="/admin">{t("nav.admin")}</Link>
        </nav>
        <button type="button" className="lang" lang={lang === "es" ? "en" : "es"} onClick={() => setLang(lang === "es" ? "en" : "es")}>
          {t("lang.switch")}
        </button>
      </header>
      <main id="main" ref={main}>
        <Page />
      </main>
    </>
  );
}

export function App() {
  return (
    <I18nProvider>
      <RouterProvider>
        <Layout />
      </RouterProvider>
    </I18nProvider>
  );
}
