// A tiny history router: a handful of pages do not need a routing library.
import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, type MouseEvent, type ReactNode } from "react";

type Nav = {
  path: string;
  search: URLSearchParams;
  navigate: (to: string, opts?: { replace?: boolean }) => void;
  /** True once after a move to another page: its heading takes the focus. */
  takeFocus: () => boolean;
};
const Ctx = createContext<Nav | null>(null);

export function RouterProvider({ children }: { children: ReactNode }) {
  const [loc, setLoc] = useState(() => ({ path: window.location.pathname, search: window.location.search }));
  // Not on the first load (the browser starts at the top of the page), only
  // after a move to another path; a new filter or page of the same list keeps
  // the focus where the person is.
  const focusPending = useRef(false);
  const moveTo = useCallback((path: string, search: string) => {
    setLoc((prev) => {
      if (prev.path !== path) focusPending.current = true;
      return { path, search };
    });
  }, []);
  useEffect(() => {
    const onPop = () => moveTo(window.location.pathname, window.location.search);
    window.addEventListener("popstate", onPop);
    return () => window.removeEventListener("popstate", onPop);
  }, [moveTo]);
  const navigate = useCallback(
    (to: string, opts?: { replace?: boolean }) => {
      const samePath = new URL(to, window.location.href).pathname === window.location.pathname;
      if (opts?.replace) window.history.replaceState(null, "", to);
      else window.history.pushState(null, "", to);
      moveTo(window.location.pathname, window.location.search);
      if (!samePath) window.scrollTo?.(0, 0);
    },
    [moveTo],
  );
  const takeFocus = useCallback(() => {
    const pending = focusPending.current;
    focusPending.current = false;
    return pending;
  }, []);
  const value = useMemo(() => ({ path: loc.path, search: new URLSearchParams(loc.search), navigate, takeFocus }), [loc, navigate, takeFocus]);
  return <Ctx.Provider value={value}>{children}</Ctx.Provider>;
}

export function useRouter(): Nav {
  const v = useContext(Ctx);
  if (!v) throw new Error("useRouter outside RouterProvider");
  return v;
}

/** match("/admin/requests/:id", "/admin/requests/7") → { id: "7" } */
export function match(pattern: string, path: string): Record<string, string> | null {
  const p = pattern.split("/");
  const s = path.replace(/\/+$/, "").split("/");
  if (p.length !== s.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < p.length; i++) {
    const seg = p[i] ?? "";
    const val = s[i] ?? "";
    if (seg.startsWith(":")) params[seg.slice(1)] = decodeURIComponent(val);
    else if (seg !== val) return null;
  }
  return params;
}

export function Link({ to, children, className, current }: { to: string; children: ReactNode; className?: string; current?: boolean }) {
  const { navigate } = useRouter();
  const onClick = (e: MouseEvent<HTMLAnchorElement>) => {
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    navigate(to);
  };
  return (
    <a href={to} onClick={onClick} className={className} aria-current={current ? "page" : undefined}>
      {children}
    </a>
  );
}
