import { render, screen, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import type { ListPage, LoanRequest } from "../api/client";
import { I18nProvider } from "../i18n";
import { RouterProvider } from "../router";
import { RequestsTable } from "./admin";

function row(id: number, over: Partial<LoanRequest> = {}): LoanRequest {
  return {
    id, tracking_code: `LD-00000000${id}A`.slice(0, 13), full_name: `Persona ${id}`, email: "p@example.com", document_number: "30123950",
    gender: "F", amount: 100000 * id, status: "approved", reason: "score", score: 950, created_at: "2026-11-26T10:00:00Z",
    updated_at: "2026-11-26T10:00:00Z", decided_at: "2026-11-26T10:00:00Z", decided_by: "system", deleted_at: null, ...over,
  };
}

function show(page: ListPage) {
  return render(
    <I18nProvider>
      <RouterProvider>
        <RequestsTable page={page} />
      </RouterProvider>
    </I18nProvider>,
  );
}

describe("dashboard table", () => {
  it("lists requests with a header, a caption and links to each", () => {
    show({ items: [row(1), row(2, { status: "in_review", reason: "" })], total: 2, page: 1, page_size: 10 });
    const table = screen.getByRole("table", { name: "Solicitudes, de la más nueva a la más vieja" });
    expect(within(table).getAllByRole("columnheader").map((h) => h.textContent)).toEqual(["Código", "Nombre", "DNI", "Monto", "Estado", "Fecha"]);
    const rows = within(table).getAllByRole("row").slice(1);
    expect(rows).toHaveLength(2);
    expect(within(rows[1]!).getByText("En revisión")).toBeInTheDocument();
    expect(within(rows[0]!).getByRole("link")).toHaveAttribute("href", "/admin/requests/1");
  });

  it("renders a hostile name as text, never as HTML", () => {
    const evil = `<img src=x onerror="window.__xss=1">`;
    const { container } = show({ items: [row(1, { full_name: evil })], total: 1, page: 1, page_size: 10 });
    expect(screen.getByText(evil)).toBeInTheDocument();
    expect(container.querySelector("img")).toBeNull();
    expect((window as unknown as { __xss?: number }).__xss).toBeUndefined();
  });

  it("says so when nothing matches", () => {
    show({ items: [], total: 0, page: 1, page_size: 10 });
    expect(screen.getByText("No hay solicitudes con estos filtros.")).toBeInTheDocument();
    expect(screen.queryByRole("table")).toBeNull();
  });
});
