import { render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { App } from "../../App";
import type { Activity, AuditEvent, LoanRequest } from "../../api/client";
import { fakeApi, problem } from "../../test-api";
import { niceMax } from "./ActivityChart";

afterEach(() => vi.restoreAllMocks());

const session = { email: "ana@loandesk.local", csrf_token: "tok" };
const loan: LoanRequest = {
  id: 7, tracking_code: "LD-7K2M9QX4TB", full_name: "Ana Pérez", email: "ana@example.com", document_number: "30123950", gender: "F",
  amount: 4900000, status: "in_review", reason: "manual", score: null, created_at: "2026-11-26T10:00:00Z", updated_at: "2026-11-26T10:00:00Z",
  decided_at: null, decided_by: null, deleted_at: null,
} as unknown as LoanRequest;
const event = (id: number, action: string, before: string, after: string): AuditEvent =>
  ({ id, request_id: 7, action, actor: "system", comment: "", before: { status: before }, after: { status: after }, created_at: "2026-11-26T10:00:00Z" }) as unknown as AuditEvent;

function activity(): Activity {
  const days = Array.from({ length: 30 }, (_, i) => ({ day: new Date(Date.UTC(2026, 9, 29 + i)).toISOString(), approved: i, rejected: i % 3, in_review: i === 29 ? 4 : 0 }));
  return { days, queue: { ready: 2, waiting: 1, running: 0 } };
}

function adminApi(over: Record<string, Parameters<typeof fakeApi>[0][string]> = {}) {
  let current = { ...loan };
  return fakeApi({
    "GET /api/v1/admin/session": () => ({ body: session }),
    "DELETE /api/v1/admin/session": () => ({ status: 204 }),
    "GET /api/v1/admin/stats": () => ({ body: { in_review: 4, approved: 435, rejected: 145, deleted: 1 } }),
    "GET /api/v1/admin/activity": () => ({ body: activity() }),
    "GET /api/v1/admin/requests": () => ({ body: { items: [current], total: 1, next_cursor: null, total_is_lower_bound: false } }),
    "GET /api/v1/admin/requests/7": () => ({ body: { request: current, events: [event(1, "decide", "in_review", "in_review")] } }),
    "DELETE /api/v1/admin/requests/7": () => ((current = { ...current, deleted_at: "2026-11-27T10:00:00Z" } as LoanRequest), { body: current }),
    "POST /api/v1/admin/requests/7/restore": () => ((current = { ...current, deleted_at: null } as LoanRequest), { body: current }),
    ...over,
  });
}

function renderAt(path: string) {
  window.history.pushState(null, "", path);
  return render(<App />);
}

describe("admin workspace", () => {
  it("has its own header: who is signed in, Log out, no public nav", async () => {
    adminApi();
    renderAt("/admin");
    expect(await screen.findByRole("heading", { level: 1, name: "Solicitudes" })).toBeInTheDocument();
    const banner = screen.getByRole("banner");
    expect(within(banner).getByText("ana@loandesk.local")).toBeInTheDocument();
    expect(within(banner).getByRole("button", { name: "Salir" })).toBeInTheDocument();
    expect(within(banner).queryByRole("link", { name: "Solicitar" })).toBeNull();
    expect(within(banner).getByRole("link", { name: "Solicitudes" })).toHaveAttribute("aria-current", "page");
    await waitFor(() => expect(document.title).toBe("Solicitudes · LoanDesk"));
  });

  it("emphasises the queue, counts in plural words, and draws 30 days with a table alternative", async () => {
    adminApi();
    renderAt("/admin");
    const stats = await screen.findByRole("region", { name: "Resumen" });
    await within(stats).findByText("435");
    expect(within(stats).getByText("Aprobadas")).toBeInTheDocument();
    expect(within(stats).getByRole("link", { name: "Revisar la cola" })).toHaveAttribute("href", "/admin?status=in_review");
    expect(within(stats).getByRole("region", { name: "Cola de decisiones automáticas" })).toHaveTextContent("2 listas para decidir");
    const chart = screen.getByRole("img", { name: /Solicitudes por día, últimos 30 días/ });
    // 0+1+…+29 approved, the rejections, 4 waiting; the busiest day named.
    expect(chart).toHaveAccessibleName(
      "Solicitudes por día, últimos 30 días 469 solicitudes en 30 días: 435 aprobadas, 30 rechazadas y 4 en revisión. El día con más fue el 27 nov, con 35.",
    );
    const table = screen.getByRole("table", { name: "Solicitudes por día, últimos 30 días" });
    expect(within(table).getAllByRole("row")).toHaveLength(31);
  });

  it("marks requests in review in the list", async () => {
    adminApi();
    renderAt("/admin");
    const cell = await screen.findByRole("cell", { name: "Ana Pérez" });
    expect(cell.closest("tr")).toHaveClass("row-review");
    expect(screen.getByRole("cell", { name: "LD-7K2M9QX4TB" })).toBeInTheDocument(); // card labels are hidden from screen readers
  });

  it("erases an applicant only with their DNI typed, and says from how many requests", async () => {
    const { calls } = adminApi({
      "POST /api/v1/admin/requests/7/erase": (body) =>
        (body as { document_number: string }).document_number === "30123950"
          ? { body: { erased: 2, request: { ...loan, full_name: "", email: "", document_number: "", erased_at: "2026-11-27T10:00:00Z" } } }
          : { ...problem(400, "invalid"), body: { ...problem(400, "invalid").body, errors: { document_number: "is not this request's" } } },
    });
    renderAt("/admin/requests/7");
    await userEvent.click(await screen.findByRole("button", { name: "Borrar los datos del solicitante…" }));
    const dialog = screen.getByRole("dialog", { name: "¿Borrar los datos de este solicitante?" });
    const doc = within(dialog).getByLabelText("DNI del titular, para confirmar");
    await userEvent.click(within(dialog).getByRole("button", { name: "Borrar los datos" }));
    expect(doc).toHaveFocus();
    expect(doc).toHaveAccessibleDescription("Escribí el DNI: 7 u 8 dígitos.");
    expect(calls.filter((c) => c.path.endsWith("/erase"))).toHaveLength(0);
    await userEvent.type(doc, "27.555.444");
    await userEvent.click(within(dialog).getByRole("button", { name: "Borrar los datos" }));
    await waitFor(() => expect(doc).toHaveAccessibleDescription("Ese DNI no es el de esta solicitud."));
    expect(dialog).toHaveAttribute("open");
    await userEvent.clear(doc);
    await userEvent.type(doc, "30.123.950");
    await userEvent.click(within(dialog).getByRole("button", { name: "Borrar los datos" }));
    expect(await screen.findByText("Se borraron los datos del solicitante de 2 solicitudes.")).toBeInTheDocument();
    expect(dialog).not.toHaveAttribute("open");
    expect(calls.filter((c) => c.path.endsWith("/erase")).map((c) => c.body)).toEqual([{ document_number: "27555444" }, { document_number: "30123950" }]);
  });

  it("asks before deleting, and offers to undo", async () => {
    const { calls } = adminApi();
    renderAt("/admin/requests/7");
    expect(await screen.findByText("Espera la decisión de una persona de nuestro equipo.")).toBeInTheDocument();
    await waitFor(() => expect(document.title).toBe("Solicitud LD-7K2M9QX4TB · LoanDesk"));
    await userEvent.click(screen.getByRole("button", { name: "Eliminar solicitud…" }));
    const dialog = screen.getByRole("dialog", { name: "¿Eliminar la solicitud LD-7K2M9QX4TB?" });
    await userEvent.click(within(dialog).getByRole("button", { name: "Cancelar" }));
    expect(dialog).not.toHaveAttribute("open");
    expect(calls.filter((c) => c.method === "DELETE")).toHaveLength(0);

    await userEvent.click(screen.getByRole("button", { name: "Eliminar solicitud…" }));
    await userEvent.click(within(screen.getByRole("dialog")).getByRole("button", { name: "Sí, eliminar" }));
    expect(await screen.findByText("Solicitud eliminada.")).toBeInTheDocument();
    expect(screen.getByText("Esta solicitud está eliminada.")).toBeInTheDocument();
    await userEvent.click(screen.getByRole("button", { name: "Deshacer" }));
    expect(await screen.findByText("Solicitud restaurada.")).toBeInTheDocument();
    expect(screen.queryByText("Esta solicitud está eliminada.")).toBeNull();
    expect(calls.filter((c) => c.method !== "GET").map((c) => `${c.method} ${c.path}`)).toEqual([
      "DELETE /api/v1/admin/requests/7",
      "POST /api/v1/admin/requests/7/restore",
    ]);
  });

  it("says in words when a request does not exist, with the way back", async () => {
    adminApi({ "GET /api/v1/admin/requests/7": () => problem(404, "not_found", "request not found") });
    renderAt("/admin/requests/7");
    expect(await screen.findByRole("alert")).toHaveTextContent("Esa solicitud no existe");
    expect(screen.getByRole("link", { name: "← Volver a la lista" })).toHaveAttribute("href", "/admin");
  });

  it("says what is wrong with a search in the reader's language", async () => {
    adminApi({
      "GET /api/v1/admin/requests": (_b, url) =>
        url.searchParams.get("q")
          ? { status: 400, body: { type: "x", title: "Bad Request", status: 400, code: "invalid", detail: "invalid", errors: { q: "must have at least 4 digits of a document number" } } }
          : { body: { items: [], total: 0, next_cursor: null, total_is_lower_bound: false } },
    });
    renderAt("/admin?q=123");
    expect(await screen.findByText(/Buscá con una palabra de 3 letras o más, 4 o más dígitos de un DNI/)).toBeInTheDocument();
    expect(screen.getByLabelText("Buscar")).toHaveValue("123"); // the search is still there to fix
  });

  it("moves the focus to the new page's heading once it is there, not on the first load", async () => {
    adminApi();
    renderAt("/admin");
    await screen.findByRole("cell", { name: "Ana Pérez" });
    expect(document.activeElement).toBe(document.body);
    await userEvent.click(screen.getByRole("link", { name: "LD-7K2M9QX4TB" }));
    const h1 = await screen.findByRole("heading", { level: 1, name: "Solicitud LD-7K2M9QX4TB" });
    await waitFor(() => expect(h1).toHaveFocus());
    await userEvent.click(screen.getByRole("link", { name: "← Volver a la lista" }));
    const list = await screen.findByRole("heading", { level: 1, name: "Solicitudes" });
    await waitFor(() => expect(list).toHaveFocus());
  });

  it("sends a visitor without a session to the login page", async () => {
    fakeApi({ "GET /api/v1/admin/session": () => problem(401, "unauthorized") });
    renderAt("/admin");
    expect(await screen.findByRole("heading", { level: 1, name: "Ingreso de administradores" })).toBeInTheDocument();
    expect(window.location.pathname).toBe("/admin/login");
  });
});

describe("login", () => {
  it("announces a failure and ties it to both fields", async () => {
    fakeApi({
      "GET /api/v1/admin/session": () => problem(401, "unauthorized"),
      "POST /api/v1/admin/session": () => problem(401, "unauthorized"),
    });
    renderAt("/admin/login");
    await userEvent.type(await screen.findByLabelText("Correo electrónico"), "ana@loandesk.local");
    await userEvent.type(screen.getByLabelText("Contraseña"), "wrong");
    await userEvent.click(screen.getByRole("button", { name: "Ingresar" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("Correo o contraseña incorrectos. Revisalos y volvé a intentar.");
    for (const label of ["Correo electrónico", "Contraseña"]) {
      expect(screen.getByLabelText(label)).toHaveAttribute("aria-invalid", "true");
      expect(screen.getByLabelText(label)).toHaveAccessibleDescription("Correo o contraseña incorrectos. Revisalos y volvé a intentar.");
    }
    expect(screen.getByLabelText("Correo electrónico")).toHaveFocus();
  });

  it("asks for what is missing without calling the server", async () => {
    const { calls } = fakeApi({ "GET /api/v1/admin/session": () => problem(401, "unauthorized") });
    renderAt("/admin/login");
    await userEvent.click(await screen.findByRole("button", { name: "Ingresar" }));
    expect(screen.getByRole("alert")).toHaveTextContent("Escribí tu correo y tu contraseña.");
    expect(calls.filter((c) => c.method === "POST")).toHaveLength(0);
  });
});

describe("chart scale", () => {
  it.each([
    [0, 4],
    [3, 4],
    [7, 10],
    [35, 50],
    [101, 200],
    [12_000, 20_000],
  ])("rounds %d up to %d", (n, want) => expect(niceMax(n)).toBe(want));
});
