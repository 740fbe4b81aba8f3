import { I18nProvider, useI18n } from "./i18n";
import { ApplyPage } from "./pages/ApplyPage";
import { DecisionPage } from "./pages/DecisionPage";
import { NotFoundPage } from "./pages/NotFoundPage";
import { TrackPage } from "./pages/TrackPage";
import { AdminSessionProvider, DashboardPage, LoginPage, RequestPage, useAdminSession } from "./pages/admin";
import { Link, RouterProvider, match, useRouter } from "./router";

function PublicPage({ path }: { path: string }) {
  let m: Record<string, string> | null;
  if (path === "/" || path === "") return <ApplyPage />;
  if (path === "/status") return <TrackPage />;
  if ((m = match("/requests/:code", path))) return <DecisionPage code={m["code"] ?? ""} />;
  return <NotFoundPage />;
}

function AdminPage({ path }: { path: string }) {
  let m: Record<string, string> | null;
  if (path === "/admin/login") return <LoginPage />;
  if (path === "/admin" || path === "/admin/") return <DashboardPage />;
  if ((m = match("/admin/requests/:id", path)) && /^\d{1,15}$/.test(m["id"] ?? "")) return <RequestPage id={Number(m["id"])} />;
  return <NotFoundPage admin />;
}

function LangButton() {
  const { t, lang, setLang } = useI18n();
  // Named by what it shows, in the language it switches to.
  return (
    <button type="button" className="lang" lang={lang === "es" ? "en" : "es"} onClick={() => setLang(lang === "es" ? "en" : "es")}>
      {t("lang.switch")}
    </button>
  );
}

function SkipLink() {
  const { t } = useI18n();
  return (
    <a className="skip" href="#main">
      {t("skip")}
    </a>
  );
}

/** The applicant's pages: the form, tracking, the way to the admin area. */
function PublicLayout({ path }: { path: string }) {
  const { t } = useI18n();
  return (
    <>
      <SkipLink />
      <header>
        <Link to="/" className="brand">
          {t("app.name")}
        </Link>
        <nav aria-label={t("app.name")}>
          <Link to="/" current={path === "/"}>
            {t("nav.apply")}
          </Link>
          <Link to="/status" current={path === "/status"}>
            {t("nav.status")}
          </Link>
          <Link to="/admin">{t("nav.admin")}</Link>
        </nav>
        <LangButton />
      </header>
      <main id="main">
        <PublicPage path={path} />
      </main>
    </>
  );
}

/** The reviewers' workspace: full width, who is signed in, no public nav. */
function AdminLayout({ path }: { path: string }) {
  const { t } = useI18n();
  const { state, signOut } = useAdminSession();
  return (
    <>
      <SkipLink />
      <header className="admin-header">
        <span className="brand">
          {t("app.name")} <span className="area">{t("admin.area")}</span>
        </span>
        <nav aria-label={t("admin.nav")}>
          {state.status === "in" && (
            <Link to="/admin" current={path === "/admin" || path === "/admin/"}>
              {t("admin.title")}
            </Link>
          )}
        </nav>
        {state.status === "in" && (
          <p className="who">
            <span className="visually-hidden">{t("admin.signedin")} </span>
            <span className="email">{state.email}</span>
          </p>
        )}
        {state.status === "in" && (
          <button type="button" className="logout" onClick={() => void signOut()}>
            {t("admin.logout")}
          </button>
        )}
        <LangButton />
      </header>
      <main id="main" className="wide">
        <AdminPage path={path} />
      </main>
    </>
  );
}

function Layout() {
  const { path } = useRouter();
  if (path === "/admin" || path.startsWith("/admin/")) {
    return (
      <AdminSessionProvider>
        <AdminLayout path={path} />
      </AdminSessionProvider>
    );
  }
  return <PublicLayout path={path} />;
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
