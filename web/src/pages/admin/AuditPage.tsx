// The security log for admins: who logged in, what changed, who was shown
// which request and which page of the list (a search's kind, never its text).
import { useEffect, useMemo, useState, type FormEvent } from "react";
import { ApiError, api, type AuditPage as Page, type SecurityEvent } from "../../api/client";
import { Field } from "../../components/Field";
import { Loading, PageHeading } from "../../components/PageHeading";
import { useI18n, type MessageKey } from "../../i18n";
import { Link, useRouter } from "../../router";
import { CellLabel, Pager, positionOf, withPosition, type Position } from "./list";
import { useAdminSession, useErrorText, useSignedIn } from "./session";

const PAGE_SIZE = 20;

const filterNames = ["admin", "request", "day"] as const;
type Wrong = Partial<Record<(typeof filterNames)[number], MessageKey>>;

function focusFirst(w: Wrong) {
  const first = filterNames.find((f) => w[f]);
  if (first) document.getElementById(`a-${first}`)?.focus();
}

function filtersOf(search: URLSearchParams) {
  return { admin: search.get("admin") ?? "", request: search.get("request") ?? "", day: search.get("day") ?? "" };
}

/** A pseudonym, short enough to compare by eye (the log keeps it whole). */
const short = (p: string) => p.slice(0, 8);

function EventsTable({ items }: { items: SecurityEvent[] }) {
  const { t, lang } = useI18n();
  // In UTC, as the day filter is: the same event is on the same day in both.
  const utc = useMemo(() => new Intl.DateTimeFormat(lang === "es" ? "es-AR" : "en-US", { dateStyle: "medium", timeStyle: "medium", timeZone: "UTC", hourCycle: "h23" }), [lang]);
  if (items.length === 0) return <p>{t("audit.empty")}</p>;
  const cols = { at: t("audit.col.at"), kind: t("audit.col.kind"), who: t("audit.col.account"), request: t("audit.col.request"), search: t("audit.col.search"), client: t("audit.col.client") };
  const label = (k: keyof typeof cols) => <CellLabel>{cols[k]}</CellLabel>;
  return (
    <div className="table-wrap">
      <table className="log">
        <caption>{t("audit.caption")}</caption>
        <thead>
          <tr>
            {Object.values(cols).map((c) => (
              <th scope="col" key={c}>
                {c}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {items.map((e) => (
            <tr key={e.id}>
              <td className="nowrap tnum">
                {label("at")}
                {utc.format(new Date(e.at))} UTC
              </td>
              <td>
                {label("kind")}
                {t(`audit.kind.${e.kind}` as MessageKey)}
              </td>
              <td className="who">
                {label("who")}
                {e.admin_email || (e.subject ? t("audit.unknown", { id: short(e.subject) }) : "—")}
              </td>
              <td className="nowrap">
                {label("request")}
                {e.request_id ? <Link to={`/admin/requests/${e.request_id}`}>#{e.request_id}</Link> : "—"}
              </td>
              <td>
                {label("search")}
                {e.detail ? t(`audit.search.${e.detail}` as MessageKey) : "—"}
              </td>
              <td className="nowrap">
                {label("client")}
                {e.client ? <code>{short(e.client)}</code> : "—"}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function AuditPage() {
  const { t } = useI18n();
  const email = useSignedIn();
  const { onError } = useAdminSession();
  const errorText = useErrorText();
  const { search, navigate } = useRouter();
  const [page, setPage] = useState<Page | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [wrong, setWrong] = useState<Wrong>({});
  const query = search.toString();
  const [form, setForm] = useState(() => filtersOf(search));
  useEffect(() => setForm(filtersOf(new URLSearchParams(query))), [query]);

  useEffect(() => {
    if (!email) return;
    const q = new URLSearchParams(query);
    for (const k of ["back", "n"]) q.delete(k); // the SPA's, not the API's
    q.set("limit", String(PAGE_SIZE));
    let live = true;
    api
      .audit(q)
      .then((p) => {
        if (!live) return;
        setPage(p);
        setError(null);
        setWrong({});
      })
      .catch((err) => {
        if (!live) return;
        onError(err);
        setPage(null);
        // The filters' problems in the reader's language, each at its field.
        const fields = err instanceof ApiError && err.status === 400 ? err.fieldErrors : {};
        const w: Wrong = {};
        for (const f of filterNames) if (fields[f]) w[f] = `audit.err.${f}`;
        if (Object.keys(w).length) {
          setWrong(w);
          setError(t("audit.fix"));
          focusFirst(w);
        } else {
          setWrong({});
          setError(errorText(err));
        }
      });
    return () => {
      live = false;
    };
  }, [email, query, onError, errorText, t]);

  function apply(e: FormEvent) {
    e.preventDefault();
    if (form.request.trim() && !/^[1-9][0-9]{0,17}$/.test(form.request.trim())) {
      setWrong({ request: "audit.err.request" });
      setError(t("audit.fix"));
      focusFirst({ request: "audit.err.request" });
      return;
    }
    const q = new URLSearchParams();
    if (form.admin.trim()) q.set("admin", form.admin.trim());
    if (form.request.trim()) q.set("request", form.request.trim());
    if (form.day) q.set("day", form.day);
    navigate(`/admin/audit?${q.toString()}`);
  }
  const go = (p: Position) => navigate(`/admin/audit?${withPosition(new URLSearchParams(query), p).toString()}`);

  if (!email || (!page && !error)) return <Loading />;
  const at = positionOf(search);
  return (
    <>
      <PageHeading title={t("audit.title")} />
      <p>{t("audit.intro")}</p>
      <form className="filters" onSubmit={apply} aria-label={t("admin.filter")} noValidate>
        <Field id="a-admin" label={t("audit.filter.admin")} error={wrong.admin && t(wrong.admin)}>
          {(aria) => <input {...aria} type="email" autoComplete="off" value={form.admin} onChange={(e) => setForm({ ...form, admin: e.target.value })} />}
        </Field>
        <Field id="a-request" label={t("audit.filter.request")} error={wrong.request && t(wrong.request)}>
          {(aria) => <input {...aria} inputMode="numeric" value={form.request} onChange={(e) => setForm({ ...form, request: e.target.value })} />}
        </Field>
        <Field id="a-day" label={t("audit.filter.day")} error={wrong.day && t(wrong.day)}>
          {(aria) => <input {...aria} type="date" value={form.day} onChange={(e) => setForm({ ...form, day: e.target.value })} />}
        </Field>
        <div className="filter-actions">
          <button type="submit">{t("admin.filter.apply")}</button>
          <button
            type="button"
            className="secondary"
            onClick={() => {
              setForm({ admin: "", request: "", day: "" });
              navigate("/admin/audit");
            }}
          >
            {t("admin.filter.clear")}
          </button>
        </div>
      </form>
      <div role="alert">{error && <p className="alert">{error}</p>}</div>
      {page && !error && (
        <>
          <EventsTable items={page.items} />
          <Pager next={page.next_cursor} label={t("audit.page", { page: at.n })} at={at} go={go} />
        </>
      )}
    </>
  );
}
