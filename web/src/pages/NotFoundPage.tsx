import { PageHeading } from "../components/PageHeading";
import { useI18n } from "../i18n";
import { Link } from "../router";

/** Any address the app does not know: say so, and offer the ways back. */
export function NotFoundPage({ admin = false }: { admin?: boolean }) {
  const { t } = useI18n();
  return (
    <>
      <PageHeading title={t("notfound.title")} />
      <p>{t("notfound.text")}</p>
      <ul className="ways">
        {admin ? (
          <li>
            <Link to="/admin">{t("notfound.admin")}</Link>
          </li>
        ) : (
          <>
            <li>
              <Link to="/">{t("notfound.home")}</Link>
            </li>
            <li>
              <Link to="/status">{t("notfound.track")}</Link>
            </li>
          </>
        )}
      </ul>
    </>
  );
}
