import { fireEvent, render, screen, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import type { ListPage, LoanRequest } from "../../api/client";
import { I18nProvider } from "../../i18n";
import { RouterProvider } from "../../router";
import { ListPager, RequestsTable, nextPosition, positionOf, previousPosition, withPosition, type Position } from "./list";

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
    show({ items: [row(1), row(2, { status: "in_review", reason: "" })], total: 2, next_cursor: null, total_is_lower_bound: false });
    const table = screen.getByRole("table", { name: "Solicitudes, de la más nueva a la más vieja" });
    expect(within(table).getAllByRole("columnheader").map((h) => h.textContent)).toEqual(["Código", "Nombre", "DNI", "Monto", "Estado", "Fecha"]);
    const rows = within(table).getAllByRole("row").slice(1);
    expect(rows).toHaveLength(2);
    expect(within(rows[1]!).getByText("En revisión")).toBeInTheDocument();
    expect(within(rows[0]!).getByRole("link")).toHaveAttribute("href", "/admin/requests/1");
  });

  it("renders a hostile name as text, never as HTML", () => {
    const evil = `<img src=x onerror="window.__xss=1">`;
    const { container } = show({ items: [row(1, { full_name: evil })], total: 1, next_cursor: null, total_is_lower_bound: false });
    expect(screen.getByText(evil)).toBeInTheDocument();
    expect(container.querySelector("img")).toBeNull();
    expect((window as unknown as { __xss?: number }).__xss).toBeUndefined();
  });

  it("says so when nothing matches", () => {
    show({ items: [], total: 0, next_cursor: null, total_is_lower_bound: false });
    expect(screen.getByText("No hay solicitudes con estos filtros.")).toBeInTheDocument();
    expect(screen.queryByRole("table")).toBeNull();
  });
});

describe("pager", () => {
  it("walks forward and back by cursor, keeping the filters, in the URL", () => {
    let at = positionOf(new URLSearchParams("status=approved"));
    expect(at).toEqual({ cursor: null, back: [], n: 1 });
    at = nextPosition(at, "c2");
    at = nextPosition(at, "c3");
    const url = withPosition(new URLSearchParams("status=approved&cursor=old"), at);
    expect(url.toString()).toBe("status=approved&cursor=c3&back=c2&n=3");
    at = positionOf(url); // a reload lands where it was
    expect(at).toEqual({ cursor: "c3", back: ["c2"], n: 3 });
    at = previousPosition(at);
    expect(at).toEqual({ cursor: "c2", back: [], n: 2 });
    expect(previousPosition(at)).toEqual({ cursor: null, back: [], n: 1 });
    expect(withPosition(url, previousPosition(at)).toString()).toBe("status=approved");
  });

  it("goes to the first page when the cursors before were dropped", () => {
    let at: Position = { cursor: null, back: [], n: 1 };
    for (let i = 2; i <= 60; i++) at = nextPosition(at, `c${i}`);
    expect(at.n).toBe(60);
    expect(at.back).toHaveLength(50);
    for (let i = 0; i < 50; i++) at = previousPosition(at);
    expect(at).toEqual({ cursor: "c10", back: [], n: 10 }); // the oldest cursor kept
    expect(previousPosition(at)).toEqual({ cursor: null, back: [], n: 1 });
  });

  it("says 'more than' when the total is a lower bound, and offers no next page after the last", () => {
    const go: Position[] = [];
    render(
      <I18nProvider>
        <ListPager page={{ items: [row(1)], total: 10000, next_cursor: "c3", total_is_lower_bound: true }} at={{ cursor: "c2", back: [], n: 2 }} go={(p) => go.push(p)} />
      </I18nProvider>,
    );
    expect(screen.getByRole("navigation", { name: "Página 2 · más de 10.000 solicitudes" })).toBeInTheDocument();
    fireEvent.click(screen.getByRole("button", { name: "Siguiente" }));
    fireEvent.click(screen.getByRole("button", { name: "Anterior" }));
    expect(go).toEqual([{ cursor: "c3", back: ["c2"], n: 3 }, { cursor: null, back: [], n: 1 }]);
  });

  it("counts exactly when it can, and disables Next on the last page", () => {
    render(
      <I18nProvider>
        <ListPager page={{ items: [row(1)], total: 12345, next_cursor: null, total_is_lower_bound: false }} at={{ cursor: null, back: [], n: 1 }} go={() => {}} />
      </I18nProvider>,
    );
    expect(screen.getByText("Página 1 · 12.345 solicitudes")).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Siguiente" })).toBeDisabled();
    expect(screen.getByRole("button", { name: "Anterior" })).toBeDisabled();
  });
});
