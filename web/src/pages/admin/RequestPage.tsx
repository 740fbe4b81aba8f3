import { useCallback, useEffect, useRef, useState, type FormEvent } from "react";
import { ApiError, api, type RequestDetail, type Status } from "../../api/client";
import { Field } from "../../components/Field";
import { Loading, PageHeading } from "../../components/PageHeading";
import { STATUSES, StatusBadge, StatusOptions } from "../../components/StatusBadge";
import { reasonKey, useI18n, type MessageKey } from "../../i18n";
import { Link } from "../../router";
import { lastListURL } from "./list";
import { useAdminSession, useErrorText, useSignedIn } from "./session";

/** What the last action left to say; "deleted" offers to undo it. */
type Notice = { text: MessageKey; undo?: boolean; n?: number } | null;

export function RequestPage({ id }: { id: number }) {
  const { t, money, date } = useI18n();
  const email = useSignedIn();
  const { onError } = useAdminSession();
  const errorText = useErrorText();
  const [detail, setDetail] = useState<RequestDetail | null>(null);
  const [status, setStatus] = useState<Status>("approved");
  const [comment, setComment] = useState("");
  const [commentError, setCommentError] = useState<MessageKey | null>(null);
  const [notice, setNotice] = useState<Notice>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const confirm = useRef<HTMLDialogElement>(null);
  const eraseDialog = useRef<HTMLDialogElement>(null);
  const [eraseDoc, setEraseDoc] = useState("");
  const [eraseError, setEraseError] = useState<MessageKey | null>(null);
  const noticeRef = useRef<HTMLDivElement>(null);

  const load = useCallback(
    () =>
      api
        .detail(id)
        .then((d) => {
          setDetail(d);
          setStatus(d.request.status === "approved" ? "rejected" : "approved");
        })
        .catch((err) => {
          onError(err);
          setError(errorText(err));
        }),
    [id, onError, errorText],
  );

  useEffect(() => {
    if (email) void load();
  }, [email, load]);

  // The button pressed may be gone (Delete becomes Restore): the notice,
  // with its Undo, is where the person goes on from.
  useEffect(() => {
    if (notice) noticeRef.current?.focus();
  }, [notice]);

  // Audit snapshots are stored JSON: show known statuses by name, anything else as is.
  const statusName = (v: unknown) => (STATUSES.includes(v as Status) ? t(`status.${v as Status}`) : String(v));

  async function act(f: () => Promise<unknown>, done: Notice) {
    setNotice(null);
    setError(null);
    setBusy(true);
    try {
      await f();
      setComment("");
      await load();
      setNotice(done);
    } catch (err) {
      onError(err);
      setError(errorText(err));
      await load(); // a 409 means it changed meanwhile: show what it is now
    } finally {
      setBusy(false);
    }
  }

  // Erasing asks for the applicant's document number: the admin types the
  // one the data subject gave, and the server checks it is this request's.
  async function onErase(e: FormEvent) {
    e.preventDefault();
    const digits = eraseDoc.replace(/[.\s-]/g, "");
    if (!/^[0-9]{7,8}$/.test(digits)) {
      setEraseError("erase.err.format");
      document.getElementById("erase-doc")?.focus();
      return;
    }
    setEraseError(null);
    setBusy(true);
    try {
      const done = await api.erase(id, digits);
      eraseDialog.current?.close();
      setEraseDoc("");
      setError(null);
      await load();
      setNotice({ text: done.erased === 1 ? "erase.done.one" : "erase.done", n: done.erased });
    } catch (err) {
      if (err instanceof ApiError && err.status === 400 && err.fieldErrors["document_number"]) {
        setEraseError("erase.err.other");
        document.getElementById("erase-doc")?.focus();
      } else {
        eraseDialog.current?.close();
        onError(err);
        setError(errorText(err));
        await load();
      }
    } finally {
      setBusy(false);
    }
  }

  function onChangeStatus(e: FormEvent) {
    e.preventDefault();
    if (!comment.trim()) {
      setCommentError("err.comment");
      document.getElementById("comment")?.focus();
      return;
    }
    setCommentError(null);
    void act(() => api.changeStatus(id, status, comment.trim()), { text: "detail.saved" });
  }

  if (!email || (!detail && !error)) return <Loading />;
  const r = detail?.request;
  const reason = r ? reasonKey(r.status, r.reason) : null;
  const code = r?.tracking_code ?? String(id);
  const [titleBefore, titleAfter] = t("detail.title", { code: "{code}" }).split("{code}");
  return (
    <>
      <p className="back">
        <Link to={lastListURL}>← {t("detail.back")}</Link>
      </p>
      <PageHeading title={t("detail.title", { code })}>
        {/* The code never breaks at its hyphen. */}
        {titleBefore}
        <span className="nowrap">{code}</span>
        {titleAfter}
      </PageHeading>
      <div ref={noticeRef} tabIndex={-1} aria-live="polite" className="live">
        {notice && (
          <p className="notice">
            {t(notice.text, { n: notice.n ?? 0 })}{" "}
            {notice.undo && (
              <button type="button" className="secondary small" disabled={busy} onClick={() => void act(() => api.restore(id), { text: "detail.restored" })}>
                {t("detail.undo")}
              </button>
            )}
          </p>
        )}
      </div>
      <div role="alert">{error && <p className="alert">{error}</p>}</div>
      {r && detail && (
        <div className="detail-grid">
          <div>
            {r.deleted_at && <p className="alert">{t("detail.deleted")}</p>}
            <dl className="detail">
              <dt>{t("admin.col.status")}</dt>
              <dd>
                <StatusBadge status={r.status} /> {reason ? t(reason) : ""}
              </dd>
              <dt>{t("admin.col.name")}</dt>
              <dd>{r.erased_at ? t("erased") : r.full_name}</dd>
              <dt>{t("field.email")}</dt>
              <dd>{r.erased_at ? t("erased") : r.email}</dd>
              <dt>{t("admin.col.document")}</dt>
              <dd className="tnum">
                {r.erased_at ? t("erased") : r.document_number} ({r.gender})
              </dd>
              <dt>{t("admin.col.amount")}</dt>
              <dd className="tnum">{money(r.amount)}</dd>
              <dt>{t("detail.score")}</dt>
              <dd className="tnum">{r.score ?? "—"}</dd>
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
              <form onSubmit={onChangeStatus} aria-labelledby="change-title" noValidate>
                <h2 id="change-title">{t("detail.change")}</h2>
                <Field id="newstatus" label={t("detail.newstatus")}>
                  {(aria) => (
                    <select {...aria} value={status} onChange={(e) => setStatus(e.target.value as Status)}>
                      <StatusOptions />
                    </select>
                  )}
                </Field>
                <Field id="comment" label={t("detail.comment")} error={commentError ? t(commentError) : undefined}>
                  {(aria) => (
                    <textarea
                      {...aria}
                      rows={3}
                      maxLength={1000}
                      value={comment}
                      onChange={(e) => {
                        setComment(e.target.value);
                        if (commentError && e.target.value.trim()) setCommentError(null);
                      }}
                    />
                  )}
                </Field>
                <div className="actions">
                  <button type="submit" disabled={busy}>
                    {t("detail.save")}
                  </button>
                </div>
              </form>
            )}
            <div className="danger-zone">
              {r.deleted_at ? (
                <button type="button" disabled={busy} onClick={() => void act(() => api.restore(id), { text: "detail.restored" })}>
                  {t("detail.restore")}
                </button>
              ) : (
                <button type="button" className="danger" disabled={busy} onClick={() => confirm.current?.showModal()}>
                  {t("detail.delete")}
                </button>
              )}
              {!r.erased_at && (
                <button type="button" className="danger" disabled={busy} onClick={() => eraseDialog.current?.showModal()}>
                  {t("erase.open")}
                </button>
              )}
            </div>
          </div>
          <section aria-labelledby="audit-title">
            <h2 id="audit-title">{t("detail.audit")}</h2>
            <ol className="audit">
              {detail.events.map((ev) => (
                <li key={ev.id}>
                  <strong>{t(`audit.${ev.action}` as MessageKey)}</strong> · {ev.actor} · {date(ev.created_at)}
                  {ev.before["status"] !== ev.after["status"] && (
                    <>
                      {" "}
                      · {statusName(ev.before["status"])} → {statusName(ev.after["status"])}
                    </>
                  )}
                  {ev.comment && <blockquote>{ev.comment}</blockquote>}
                </li>
              ))}
            </ol>
            <p>
              <Link to={`/admin/audit?request=${id}`}>{t("detail.viewers")}</Link>
            </p>
          </section>
        </div>
      )}
      {/* Deleting asks first; Cancel has the focus, so Enter does no harm. */}
      <dialog ref={confirm} aria-labelledby="confirm-title" aria-describedby="confirm-text" className="confirm">
        <h2 id="confirm-title">{t("detail.delete.title", { code: r?.tracking_code ?? String(id) })}</h2>
        <p id="confirm-text">{t("detail.delete.text")}</p>
        <div className="actions">
          <button type="button" className="secondary" autoFocus onClick={() => confirm.current?.close()}>
            {t("detail.cancel")}
          </button>
          <button
            type="button"
            className="danger"
            onClick={() => {
              confirm.current?.close();
              void act(() => api.remove(id), { text: "detail.deleted.notice", undo: true });
            }}
          >
            {t("detail.delete.confirm")}
          </button>
        </div>
      </dialog>
      {/* Erasing cannot be undone: it asks for the applicant's number, and Cancel comes first. */}
      <dialog ref={eraseDialog} aria-labelledby="erase-title" aria-describedby="erase-text" className="confirm">
        <h2 id="erase-title">{t("erase.title")}</h2>
        <p id="erase-text">{t("erase.text")}</p>
        <form onSubmit={onErase} noValidate>
          <Field id="erase-doc" label={t("erase.doc")} error={eraseError ? t(eraseError) : undefined}>
            {(aria) => <input {...aria} inputMode="numeric" autoComplete="off" value={eraseDoc} onChange={(e) => setEraseDoc(e.target.value)} />}
          </Field>
          <div className="actions">
            <button type="button" className="secondary" onClick={() => eraseDialog.current?.close()}>
              {t("detail.cancel")}
            </button>
            <button type="submit" className="danger" disabled={busy}>
              {t("erase.confirm")}
            </button>
          </div>
        </form>
      </dialog>
    </>
  );
}
