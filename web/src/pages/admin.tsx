import { useCallback, useEffect, useState, type FormEvent } from "react";
import { ApiError, api, setCsrfToken, type ListPage, type RequestDetail, type Stats, type Status } from "../api/client";
import { Field } from "../components/Field";
import { StatusBadge } from "../components/StatusBadge";
import { useI18n, type MessageKey } from "../i18n";
import { Link, useRouter } from "../router";

const STATUSES: readonly Status[] = ["in_review", "approved", "rejected"];

function StatusOptions() {
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

/** Resolves the session, or sends the admin to the login page. */
function useAdminSession(): string | null {
  const { navigate } = useRouter();
  const [email, setEmail] = useState<string | null>(null);
  useEffect(() => {
    api
      .session()
      .then((s) => {
        setCsrfToken(s.csrf_token);
        setEmail(s.email);
      })
      .catch(() => navigate("/admin/login", { replace: true }));
  }, [navigate]);
  return email;
}

/** Any admin call that answers 401 means the session ended. */
function useOnUnauthorized() {
  const { navigate } = useRouter();
  return useCallback(
    (err: unknown) => {
      if (err instanceof ApiError && err.status === 401) navigate("/admin/login", { replace: true });
    },
    [navigate],
  );
}

export function LoginPage() {
  const { t } = useI18n();
  const { navigate } = useRouter();
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<MessageKey | null>(null);
  const [busy, setBusy] = useState(false);

  async function onSubmit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const s = await api.login(email, password);
      setCsrfToken(s.csrf_token);
      navigate("/admin");
    } catch (err) {
      const st = err instanceof ApiError ? err.status : 0;
      setError(st === 401 || st === 400 ? "login.failed" : st === 429 ? "err.ratelimit" : st === 0 ? "err.network" : "err.server");
      document.getElementById("login-email")?.focus();
    } finally {
      setBusy(false);
    }
  }

  return (
    <>
      <h1 tabIndex={-1}>{t("login.title")}</h1>
      {error && (
        <p className="alert" role="alert">
          {t(error)}
        </p>
      )}
      <form onSubmit={onSubmit} aria-label={t("login.title")}>
        <Field id="login-email" label={t("login.email")}>
          {(aria) => <input {...aria} type="email" autoComplete="username" required value={email} onChange={(e) => setEmail(e.target.value)} />}
        </Field>
        <Field id="login-password" label={t("login.password")}>
          {(aria) => <input {...aria} type="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} />}
        </Field>
        <button type="submit" disabled={busy}>
          {t("login.submit")}
        </button>
      </form>
    </>
  );
}

function AdminBar({ email }: { email: string }) {
  const { t } = useI18n();
  const { navigate } = useRouter();
  return (
    <div className="adminbar">
      <span>{email}</span>
      <button type="button" className="secondary" onClick={() => void api.logout().finally(() => navigate("/admin/login"))}>
        {t("admin.logout")}
      </button>
    </div>
  );
}

export function RequestsTable({ page }: { page: ListPage }) {
  const { t, money, date } = useI18n();
  if (page.items.length === 0) return <p>{t("admin.empty")}</p>;
  return (
    <div className="table-wrap">
      <table>
        <caption>{t("admin.table.caption")}</caption>
        <thead>
          <tr>
            <th scope="col">{t("admin.col.code")}</th>
            <th scope="col">{t("admin.col.name")}</th>
            <th scope="col">{t("admin.col.document")}</th>
            <th scope="col" className="num">{t("admin.col.amount")}</th>
            <th scope="col">{t("admin.col.status")}</th>
            <th scope="col">{t("admin.col.created")}</th>
          </tr>
        </thead>
        <tbody>
          {page.items.map((r) => (
            <tr key={r.id}>
              <td>
                <Link to={`/admin/requests/${r.id}`}>{r.tracking_code}</Link>
              </td>
              {/* User text is rendered as text by React, never as HTML. */}
              <td>{r.full_name}</td>
              <td>{r.document_number}</td>
              <td className="num">{money(r.amount)}</td>
              <td>
                <StatusBadge status={r.status} />
              </td>
              <td>{date(r.created_at)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

const PAGE_SIZE = 10;

/** How many earlier pages "Previous" can go back through (their cursors ride in the URL). */
const MAX_BACK = 50;

/**
 * Where the list is: this page's cursor (null: the first page), the cursors
 * of the pages before it, most recent last, and the page's number. It lives
 * in the URL, so a reload, a shared link and the browser's Back keep it.
 */
export type Position = { cursor: string | null; back: string[]; n: number };

export function positionOf(search: URLSearchParams): Position {
  const cursor = search.get("cursor");
  if (!cursor) return { cursor: null, back: [], n: 1 };
  const back = (search.get("back") ?? "").split(",").filter(Boolean).slice(-MAX_BACK);
  const n = Number(search.get("n"));
  return { cursor, back, n: Number.isInteger(n) && n >= 2 ? n : back.length + 2 };
}

/** The search with the position in it (and the filters it already had). */
export function withPosition(search: URLSearchParams, p: Position): URLSearchParams {
  const q = new URLSearchParams(search);
  for (const k of ["cursor", "back", "n"]) q.delete(k);
  if (p.cursor) {
    q.set("cursor", p.cursor);
    if (p.back.length) q.set("back", p.back.join(","));
    q.set("n", String(p.n));
  }
  return q;
}

export function nextPosition(p: Position, next: string): Position {
  return { cursor: next, back: p.cursor ? [...p.back, p.cursor].slice(-MAX_BACK) : [], n: p.n + 1 };
}

/** One page back; the first page when the cursors before were dropped. */
export function previousPosition(p: Position): Position {
  const cursor = p.back.at(-1);
  if (p.n <= 2 || cursor === undefined) return { cursor: null, back: [], n: 1 };
  return { cursor, back: p.back.slice(0, -1), n: p.n - 1 };
}

export function Pager({ page, at, go }: { page: ListPage; at: Position; go: (p: Position) => void }) {
  const { t, count } = useI18n();
  const label = t(page.total_is_lower_bound ? "admin.page.atleast" : "admin.page", { page: at.n, total: count(page.total) });
  const next = page.next_cursor;
  return (
    <nav className="pager" aria-label={label}>
      <button type="button" className="secondary" disabled={at.n <= 1} onClick={() => go({ cursor: null, back: [], n: 1 })}>
        {t("admin.first")}
      </button>
      <button type="button" className="secondary" disabled={at.n <= 1} onClick={() => go(previousPosition(at))}>
        {t("admin.prev")}
      </button>
      <span aria-live="polite">{label}</span>
      <button type="button" className="secondary" disabled={!next} onClick={() => next && go(nextPosition(at, next))}>
        {t("admin.next")}
      </button>
    </nav>
  );
}

export function DashboardPage() {
  const { t } = useI18n();
  const email = useAdminSession();
  const { search, navigate } = useRouter();
  const onUnauthorized = useOnUnauthorized();
  const [stats, setStats] = useState<Stats | null>(null);
  const [page, setPage] = useState<ListPage | null>(null);
  const [error, setError] = useState<string | null>(null);
  const query = search.toString();

  const [form, setForm] = useState(() => ({
    status: search.get("status") ?? "",
    from: search.get("from") ?? "",
    to: search.get("to") ?? "",
    q: search.get("q") ?? "",
    deleted: search.get("deleted") === "true",
  }));

  useEffect(() => {
    if (!email) return;
    const q = new URLSearchParams(query);
    for (const k of ["back", "n"]) q.delete(k); // the SPA's, not the API's
    q.set("limit", String(PAGE_SIZE));
    Promise.all([api.stats(), api.list(q)])
      .then(([s, p]) => {
        setStats(s);
        setPage(p);
        setError(null);
      })
      .catch((err) => {
        onUnauthorized(err);
        setError(err instanceof ApiError ? err.message : t("err.network"));
      });
  }, [email, query, onUnauthorized, t]);

  function apply(e: FormEvent) {
    e.preventDefault();
    const q = new URLSearchParams();
    if (form.status) q.set("status", form.status);
    if (form.from) q.set("from", form.from);
    if (form.to) q.set("to", form.to);
    if (form.q.trim()) q.set("q", form.q.trim());
    if (form.deleted) q.set("deleted", "true");
    navigate(`/admin?${q.toString()}`);
  }

  function go(p: Position) {
    navigate(`/admin?${withPosition(new URLSearchParams(query), p).toString()}`);
  }

  if (!email) return <p role="status">{t("loading")}</p>;
  return (
    <>
      <AdminBar email={email} />
      <h1 tabIndex={-1}>{t("admin.title")}</h1>
      {stats && (
        <section aria-label={t("admin.stats")} className="stats">
          {STATUSES.map((s) => (
            <div key={s} className={`stat stat-${s}`}>
              <span className="stat-n">{stats[s]}</span> {t(`status.${s}`)}
            </div>
          ))}
          <div className="stat">
            <span className="stat-n">{stats.deleted}</span> {t("admin.deleted")}
          </div>
        </section>
      )}
      <form className="filters" onSubmit={apply} aria-label={t("admin.filter")}>
        <Field id="f-status" label={t("admin.filter.status")}>
          {(aria) => (
            <select {...aria} value={form.status} onChange={(e) => setForm({ ...form, status: e.target.value })}>
              <option value="">{t("admin.filter.any")}</option>
              <StatusOptions />
            </select>
          )}
        </Field>
        <Field id="f-from" label={t("admin.filter.from")}>
          {(aria) => <input {...aria} type="date" value={form.from} onChange={(e) => setForm({ ...form, from: e.target.value })} />}
        </Field>
        <Field id="f-to" label={t("admin.filter.to")}>
          {(aria) => <input {...aria} type="date" value={form.to} onChange={(e) => setForm({ ...form, to: e.target.value })} />}
        </Field>
        <Field id="f-q" label={t("admin.filter.q")}>
          {(aria) => <input {...aria} type="search" minLength={3} maxLength={200} value={form.q} onChange={(e) => setForm({ ...form, q: e.target.value })} />}
        </Field>
        <div className="field checkbox">
          <input id="f-deleted" type="checkbox" checked={form.deleted} onChange={(e) => setForm({ ...form, deleted: e.target.checked })} />
          <label htmlFor="f-deleted">{t("admin.filter.deleted")}</label>
        </div>
        <div className="actions">
          <button type="submit">{t("admin.filter.apply")}</button>
          <button type="button" className="secondary" onClick={() => { setForm({ status: "", from: "", to: "", q: "", deleted: false }); navigate("/admin"); }}>
            {t("admin.filter.clear")}
          </button>
        </div>
      </form>
      {error && (
        <p className="alert" role="alert">
          {error}
        </p>
      )}
      {page && (
        <>
          <RequestsTable page={page} />
          <Pager page={page} at={positionOf(search)} go={go} />
        </>
      )}
    </>
  );
}

export function RequestPage({ id }: { id: number }) {
  const { t, money, date } = useI18n();
  const email = useAdminSession();
  const onUnauthorized = useOnUnauthorized();
  const [detail, setDetail] = useState<RequestDetail | null>(null);
  const [status, setStatus] = useState<Status>("approved");
  const [comment, setComment] = useState("");
  const [commentError, setCommentError] = useState<string | undefined>();
  const [message, setMessage] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);

  const load = useCallback(() => {
    api
      .detail(id)
      .then((d) => {
        setDetail(d);
        setStatus(d.request.status === "approved" ? "rejected" : "approved");
      })
      .catch((err) => {
        onUnauthorized(err);
        setError(err instanceof ApiError ? err.message : t("err.network"));
      });
  }, [id, onUnauthorized, t]);

  useEffect(() => {
    if (email) load();
  }, [email, load]);

  // Audit snapshots are stored JSON: show known statuses by name, anything else as is.
  const statusName = (v: unknown) => (STATUSES.includes(v as Status) ? t(`status.${v as Status}`) : String(v));

  async function act(f: () => Promise<unknown>) {
    setMessage(null);
    setError(null);
    try {
      await f();
      setMessage(t("detail.saved"));
      setComment("");
      load();
    } catch (err) {
      onUnauthorized(err);
      setError(err instanceof ApiError ? err.message : t("err.network"));
    }
  }

  function onChangeStatus(e: FormEvent) {
    e.preventDefault();
    if (!comment.trim()) {
      setCommentError(t("err.comment"));
      document.getElementById("comment")?.focus();
      return;
    }
    setCommentError(undefined);
    void act(() => api.changeStatus(id, status, comment.trim()));
  }

  if (!email || (!detail && !error)) return <p role="status">{t("loading")}</p>;
  const r = detail?.request;
  return (
    <>
      <AdminBar email={email} />
      <p>
        <Link to="/admin">← {t("detail.back")}</Link>
      </p>
      <h1 tabIndex={-1}>{t("detail.title", { code: r?.tracking_code ?? String(id) })}</h1>
      <div aria-live="polite">
        {message && <p className="notice">{message}</p>}
        {error && (
          <p className="alert" role="alert">
            {error}
          </p>
        )}
      </div>
      {r && detail && (
        <>
          {r.deleted_at && <p className="alert">{t("detail.deleted")}</p>}
          <dl className="detail">
            <dt>{t("admin.col.status")}</dt>
            <dd>
              <StatusBadge status={r.status} /> {r.reason ? t(`reason.${r.reason}`) : ""}
            </dd>
            <dt>{t("admin.col.name")}</dt>
            <dd>{r.full_name}</dd>
            <dt>{t("field.email")}</dt>
            <dd>{r.email}</dd>
            <dt>{t("admin.col.document")}</dt>
            <dd>
              {r.document_number} ({r.gender})
            </dd>
            <dt>{t("admin.col.amount")}</dt>
            <dd>{money(r.amount)}</dd>
            <dt>{t("detail.score")}</dt>
            <dd>{r.score ?? "—"}</dd>
            <dt>{t("admin.col.created")}</dt>
            <dd>{date(r.created_at)}</dd>
            {r.decided_by && (
              <>
                <dt>{t("detail.decided_by")}</dt>
                <dd>{r.decided_by}</dd>
              </>
            )}
          </dl>
          {!r.deleted_at && (
            <form onSubmit={onChangeStatus} aria-label={t("detail.change")} noValidate>
              <h2>{t("detail.change")}</h2>
              <Field id="newstatus" label={t("detail.newstatus")}>
                {(aria) => (
                  <select {...aria} value={status} onChange={(e) => setStatus(e.target.value as Status)}>
                    <StatusOptions />
                  </select>
                )}
              </Field>
              <Field id="comment" label={t("detail.comment")} error={commentError}>
                {(aria) => <textarea {...aria} rows={3} maxLength={1000} value={comment} onChange={(e) => setComment(e.target.value)} />}
              </Field>
              <button type="submit">{t("detail.save")}</button>
            </form>
          )}
          <p className="actions">
            {r.deleted_at ? (
              <button type="button" onClick={() => void act(() => api.restore(id))}>
                {t("detail.restore")}
              </button>
            ) : (
              <button type="button" className="danger" onClick={() => void act(() => api.remove(id))}>
                {t("detail.delete")}
              </button>
            )}
          </p>
          <h2>{t("detail.audit")}</h2>
          <ol className="audit">
            {detail.events.map((ev) => (
              <li key={ev.id}>
                <strong>{t(`audit.${ev.action}` as MessageKey)}</strong> · {ev.actor} · {date(ev.created_at)}
                {ev.before["status"] !== ev.after["status"] && (
                  <> · {statusName(ev.before["status"])} → {statusName(ev.after["status"])}</>
                )}
                {ev.comment && <blockquote>{ev.comment}</blockquote>}
              </li>
            ))}
          </ol>
        </>
      )}
    </>
  );
}
