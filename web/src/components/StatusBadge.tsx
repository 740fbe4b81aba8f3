import type { Status } from "../api/client";
import { useI18n } from "../i18n";

export const STATUSES: readonly Status[] = ["in_review", "approved", "rejected"];

export function StatusBadge({ status }: { status: Status }) {
  const { t } = useI18n();
  return <span className={`badge badge-${status}`}>{t(`status.${status}`)}</span>;
}

export function StatusOptions() {
  const { t } = useI18n();
  return (
    <>
      {STATUSES.map((s) => (
        <option key={s} value={s}>
          {t(`status.${s}`)}
        </option>
      ))}
    </>
  );
}
