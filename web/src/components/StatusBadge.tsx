import type { Status } from "../api/client";
import { useI18n } from "../i18n";

export function StatusBadge({ status }: { status: Status }) {
  const { t } = useI18n();
  return <span className={`badge badge-${status}`}>{t(`status.${status}`)}</span>;
}
