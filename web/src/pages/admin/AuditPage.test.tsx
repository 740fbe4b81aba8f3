import { render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { App } from "../../App";
import type { SecurityEvent } from "../../api/client";
import { fakeApi, problem } from "../../test-api";

afterEach(() => vi.restoreAllMocks());

const ev = (id: number, over: Partial<SecurityEvent>): SecurityEvent => ({
  id, at: "2026-12-07T10:00:00Z", kind: "login_ok", admin_id: 3, admin_email: "ana@loandesk.local", subject: "", client: "", request_id: null, detail: "", ...over,
});

function auditApi(audit: Parameters<typeof fakeApi>[0][string]) {
  return fakeApi({
    "GET /api/v1/admin/session": () => ({ body: { email: "ana@loandesk.local", csrf_token: "tok" } }),
    "GET /api/v1/admin/audit": audit,
  });
}

function renderAt(path: string) {
  window.history.pushState(null, "", path);
  return render(<App />);
}

describe("audit log", () => {
  it("names each event, the request seen and the search's kind, and pages on with the cursor", async () => {
    const { calls } = auditApi((_, url) =>
      url.searchParams.get("cursor")
        ? { body: { items: [ev(1, { kind: "admin_added" })], next_cursor: null } }
        : {
            body: {
              items: [
                ev(4, { kind: "requests_listed", detail: "dni" }),
                ev(3, { kind: "request_viewed", request_id: 7 }),
                ev(2, { kind: "login_failed", admin_id: null, admin_email: "", subject: "Zx81abcdEFGH0123456789", client: "Qq12wwER77tt0000000000" }),
              ],
              next_cursor: "2",
            },
          },
    );
    const user = userEvent.setup();
    renderAt("/admin/audit");
    await screen.findByRole("heading", { level: 1, name: "Auditoría" });
    expect(within(screen.getByRole("banner")).getByRole("link", { name: "Auditoría" })).toHaveAttribute("aria-current", "page");
    const rows = within(screen.getByRole("table")).getAllByRole("row").slice(1);
    expect(rows.map((r) => within(r).getAllByRole("cell")[1]?.textContent)).toEqual(["EventoVio la lista", "EventoVio una solicitud", "EventoIngreso fallido"]);
    expect(within(rows[0]!).getByText("DNI")).toBeInTheDocument();
    expect(within(rows[1]!).getByRole("link", { name: "#7" })).toHaveAttribute("href", "/admin/requests/7");
    expect(within(rows[2]!).getByText("correo desconocido Zx81abcd")).toBeInTheDocument();
    expect(within(rows[2]!).getByText("Qq12wwER")).toBeInTheDocument();
    expect(within(rows[0]!).getByText(/ 10:00:00 UTC$/)).toBeInTheDocument();
    expect(calls[calls.length - 1]?.path).toBe("/api/v1/admin/audit");

    await user.click(screen.getByRole("button", { name: "Siguiente" }));
    await waitFor(() => expect(screen.getByText("Cuenta creada")).toBeInTheDocument());
    expect(screen.getByRole("navigation", { name: "Página 2" })).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Siguiente" })).toBeDisabled();
  });

  it("filters by admin, request and day, and says in words which filter is wrong", async () => {
    const { calls } = auditApi((_, url) =>
      url.searchParams.get("admin") === "nadie@example.com"
        ? { ...problem(400, "invalid"), body: { ...problem(400, "invalid").body, errors: { admin: "is no admin's email" } } }
        : { body: { items: [], next_cursor: null } },
    );
    const user = userEvent.setup();
    renderAt("/admin/audit");
    await screen.findByText("No hay eventos con estos filtros.");
    await user.type(screen.getByLabelText("Correo del administrador"), "ana@loandesk.local");
    await user.type(screen.getByLabelText("Número de solicitud"), "7");
    await user.click(screen.getByRole("button", { name: "Aplicar" }));
    await waitFor(() => expect(window.location.search).toBe("?admin=ana%40loandesk.local&request=7"));
    const last = () => calls.filter((c) => c.path === "/api/v1/admin/audit").length;
    await waitFor(() => expect(last()).toBe(2));
    await user.clear(screen.getByLabelText("Correo del administrador"));
    await user.type(screen.getByLabelText("Correo del administrador"), "nadie@example.com");
    await user.click(screen.getByRole("button", { name: "Aplicar" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("Revisá lo marcado abajo.");
    expect(screen.getByLabelText("Correo del administrador")).toHaveFocus();
    expect(screen.getByLabelText("Correo del administrador")).toHaveAccessibleDescription("Ese correo no es de ningún administrador.");
    expect(screen.queryByRole("table")).toBeNull();
    expect(screen.queryByText("No hay eventos con estos filtros.")).toBeNull();
    // A request number that is no number is refused before asking.
    const asked = last();
    await user.type(screen.getByLabelText("Número de solicitud"), "x");
    await user.click(screen.getByRole("button", { name: "Aplicar" }));
    expect(screen.getByLabelText("Número de solicitud")).toHaveFocus();
    expect(screen.getByLabelText("Número de solicitud")).toHaveAccessibleDescription("El número de solicitud es un número entero, como 42.");
    expect(last()).toBe(asked);
  });
});
