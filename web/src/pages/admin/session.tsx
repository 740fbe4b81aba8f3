// The admin's session, resolved once for the whole admin area: the header
// shows who is signed in, and every page can send the person to the login
import { failureKey } from "../../api/failure";
// page when the server says the session ended.
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from "react";
import { ApiError, api, setCsrfToken, type Session } from "../../api/client";
import { useI18n } from "../../i18n";
import { useRouter } from "../../router";

/** "step": the password was right, the login's second step is still to do (MfaPage). */
type State =
  | { status: "checking" }
  | { status: "in"; email: string; mfa: boolean }
  | { status: "step"; email: string; step: "verify" | "enrol" }
  | { status: "out" };

function stateOf(s: Session): State {
  return s.mfa === "verify" || s.mfa === "enrol" ? { status: "step", email: s.email, step: s.mfa } : { status: "in", email: s.email, mfa: s.mfa_enrolled };
}
type AdminSession = {
  state: State;
  signedIn: (s: Session) => void;
  signOut: () => Promise<void>;
  /** For any admin call's error: a 401 ends the session and opens the login page. */
  onError: (err: unknown) => void;
};
const Ctx = createContext<AdminSession | null>(null);

export function AdminSessionProvider({ children }: { children: ReactNode }) {
  const { navigate } = useRouter();
  const [state, setState] = useState<State>({ status: "checking" });
  useEffect(() => {
    let live = true;
    api
      .session()
      .then((s) => {
        setCsrfToken(s.csrf_token);
        if (live) setState(stateOf(s));
      })
      .catch(() => live && setState({ status: "out" }));
    return () => {
      live = false;
    };
  }, []);
  const signedIn = useCallback((s: Session) => {
    setCsrfToken(s.csrf_token);
    setState(stateOf(s));
  }, []);
  const signOut = useCallback(async () => {
    await api.logout().catch(() => undefined); // gone either way on this side
    setCsrfToken("");
    setState({ status: "out" });
    navigate("/admin/login");
  }, [navigate]);
  const onError = useCallback(
    (err: unknown) => {
      if (err instanceof ApiError && err.status === 401) {
        setState({ status: "out" });
        navigate("/admin/login", { replace: true });
      }
    },
    [navigate],
  );
  const value = useMemo(() => ({ state, signedIn, signOut, onError }), [state, signedIn, signOut, onError]);
  return <Ctx.Provider value={value}>{children}</Ctx.Provider>;
}

export function useAdminSession(): AdminSession {
  const v = useContext(Ctx);
  if (!v) throw new Error("useAdminSession outside AdminSessionProvider");
  return v;
}

/**
 * The signed-in admin's email; null while checking. Sends everyone else to
 * the login page, and a login still at its second step to that step.
 */
export function useSignedIn(): string | null {
  const { state } = useAdminSession();
  const { navigate } = useRouter();
  useEffect(() => {
    if (state.status === "out") navigate("/admin/login", { replace: true });
    if (state.status === "step") navigate("/admin/mfa", { replace: true });
  }, [state, navigate]);
  return state.status === "in" ? state.email : null;
}

/** An admin call's failure in words for people (the API's own detail is for programs). */
export function useErrorText(): (err: unknown) => string {
  const { t } = useI18n();
  return useCallback(
    (err: unknown) => {
      if (!(err instanceof ApiError)) return t("err.network");
      // The filters' problems, in the reader's language (the API's detail is English).
      const fields = err.status === 400 ? err.fieldErrors : {};
      if (fields["q"]) return t("err.search");
      if (fields["from"] || fields["to"]) return t("err.dates");
      // Another refusal of what was asked: the API's own words for it.
      if (err.status >= 400 && err.status < 500 && ![404, 409, 429].includes(err.status)) return t("err.invalid", { detail: err.message });
      return t(failureKey(err, { 404: "err.notfound", 409: "err.changed" }));
    },
    [t],
  );
}
