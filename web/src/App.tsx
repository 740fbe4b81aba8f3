import { Suspense, lazy } from "react";
import { LangButton, SkipLink } from "./components/Chrome";
import { I18nProvider, useI18n } from "./i18n";
import { ApplyPage } from "./pages/ApplyPage";
import { DecisionPage } from "./pages/DecisionPage";
import { NotFoundPage } from "./pages/NotFoundPage";
import { TrackPage } from "./pages/TrackPage";
import { Link, RouterProvider, match, useRouter } from "./router";

const AdminArea = lazy(() => import("./pages/admin/AdminArea"));

function PublicPage({ path }: { path: string }) {
  let m: Record<string, string> | null;
  if (path === "/" || path === "") return <ApplyPage />;
  if (path === "/status") return <TrackPage />;
  if ((m = match("/requests/:code", path))) return <DecisionPage code={m["code"] ?? ""} />;
  return <NotFoundPage />;
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

function Layout() {
  const { path } = useRouter();
  const { t } = useI18n();
  if (path === "/admin" || path.startsWith("/admin/")) {
    return (
      <Suspense fallback={<p role="status">{t("loading")}</p>}>
        <AdminArea path={path} />
      </Suspense>
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
