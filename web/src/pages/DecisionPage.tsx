import { useEffect, useState } from "react";
import { ApiError, api, type Receipt } from "../api/client";
import { StatusBadge } from "../components/StatusBadge";
import { PageHeading } from "../components/PageHeading";
import { reasonKey, useI18n } from "../i18n";
import { Link } from "../router";
import { recentReceipts } from "./ApplyPage";

/** How often an undecided request is checked again. */
export const POLL_MS = 3000;

export function DecisionView({ receipt }: { receipt: Receipt }) {
  const { t, money, date } = useI18n();
  const s = receipt.status;
  const reason = reasonKey(s, receipt.reason);
  return (
    <section aria-labelledby="decision-status" className={`decision decision-${s}`}>
      <h2 id="decision-status" aria-live="polite">
        <StatusBadge status={s} />
      </h2>
      <p className="lead">{t(`status.${s}.text`)}</p>
      {reason && <p>{t(reason)}</p>}
      <dl>
        <dt>{t("decision.code")}</dt>
        <dd>
          <code className="tracking">{receipt.tracking_code}</code>
          <br />
          <small>{t("decision.code.hint")}</small>
        </dd>
        <dt>{t("decision.amount")}</dt>
        <dd>{money(receipt.amount)}</dd>
        <dt>{t("decision.created")}</dt>
        <dd>{date(receipt.created_at)}</dd>
        {receipt.decided_at && (
          <>
            <dt>{t("decision.decided")}</dt>
            <dd>{date(receipt.decided_at)}</dd>
          </>
        )}
      </dl>
    </section>
  );
}

export function DecisionPage({ code }: { code: string }) {
  const { t } = useI18n();
  const [receipt, setReceipt] = useState<Receipt | null>(recentReceipts.get(code) ?? null);
  const [missing, setMissing] = useState(false);
  const [offline, setOffline] = useState(false);

  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const load = async () => {
      try {
        const r = await api.track(code);
        if (stopped) return;
        setReceipt(r);
        setOffline(false);
        if (r.status !== "in_review") return;
      } catch (err) {
        if (stopped) return;
        if (err instanceof ApiError && err.status === 404) {
          setMissing(true);
          return;
        }
        setOffline(true);
      }
      timer = setTimeout(load, POLL_MS);
    };
    void load();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [code]);

  return (
    <>
      <PageHeading title={t("decision.title")} />
      {missing && (
        <p className="alert" role="alert">
          {t("track.notfound")}
        </p>
      )}
      <div role="status">{offline && <p className="alert">{t("err.network")}</p>}</div>
      {!missing && !receipt && <p role="status">{t("loading")}</p>}
      {receipt && <DecisionView receipt={receipt} />}
      <p>
        <Link to="/">{t("decision.new")}</Link>
      </p>
    </>
  );
}
