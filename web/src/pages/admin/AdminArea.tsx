// The reviewers' workspace, loaded only when someone opens /admin: the
// applicant's pages do not download it.
import { LangButton, SkipLink } from "../../components/Chrome";
import { useI18n } from "../../i18n";
import { Link, match } from "../../router";
import { NotFoundPage } from "../NotFoundPage";
import { AuditPage } from "./AuditPage";
import { LoginPage } from "./LoginPage";
import { MfaPage } from "./MfaPage";
import { PasswordPage } from "./PasswordPage";
import { RequestPage } from "./RequestPage";
import { DashboardPage } from "./list";
import { AdminSessionProvider, useAdminSession } from "./session";

function AdminPage({ path }: { path: string }) {
  let m: Record<string, string> | null;
  if (path === "/admin/login") return <LoginPage />;
  if (path === "/admin" || path === "/admin/") return <DashboardPage />;
  if (path === "/admin/password") return <PasswordPage />;
  if (path === "/admin/mfa") return <MfaPage />;
  if (path === "/admin/audit") return <AuditPage />;
  if ((m = match("/admin/requests/:id", path)) && /^\d{1,15}$/.test(m["id"] ?? "")) return <RequestPage id={Number(m["id"])} />;
  return <NotFoundPage admin />;
}

/** Full width, who is signed in, no public nav. */
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
          {state.status === "in" && (
            <Link to="/admin/audit" current={path === "/admin/audit"}>
              {t("audit.nav")}
            </Link>
          )}
          {state.status === "in" && (
            <Link to="/admin/password" current={path === "/admin/password"}>
              {t("password.nav")}
            </Link>
          )}
          {state.status === "in" && !state.mfa && (
            <Link to="/admin/mfa" current={path === "/admin/mfa"}>
              {t("mfa.nav")}
            </Link>
          )}
        </nav>
        {(state.status === "in" || state.status === "step") && (
          <p className="who">
            <span className="visually-hidden">{t("admin.signedin")} </span>
            <span className="email">{state.email}</span>
          </p>
        )}
        {(state.status === "in" || state.status === "step") && (
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

export default function AdminArea({ path }: { path: string }) {
  return (
    <AdminSessionProvider>
      <AdminLayout path={path} />
    </AdminSessionProvider>
  );
}
