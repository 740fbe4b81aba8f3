import { render, screen } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import type { Receipt } from "../api/client";
import { I18nProvider } from "../i18n";
import { DecisionView } from "./DecisionPage";

const base: Receipt = { tracking_code: "LD-ABCDEFGHJK", status: "approved", reason: "score", amount: 150000, created_at: "2026-11-26T10:00:00Z", decided_at: "2026-11-26T10:00:01Z" };

function show(r: Receipt, lang: "es" | "en" = "es") {
  localStorage.setItem("loandesk.lang", lang);
  return render(
    <I18nProvider>
      <DecisionView receipt={r} />
    </I18nProvider>,
  );
}

describe("decision page", () => {
  it("shows an approval with its tracking code and amount", () => {
    show(base);
    expect(screen.getByRole("heading", { level: 2 })).toHaveTextContent("Aprobada");
    expect(screen.getByText("¡Felicitaciones! Tu préstamo fue aprobado.")).toBeInTheDocument();
    expect(screen.getByText("LD-ABCDEFGHJK")).toBeInTheDocument();
    expect(screen.getByText(/150\.000/)).toBeInTheDocument();
  });

  it("does not word an approval like a rejection", () => {
    show(base);
    expect(screen.getByText("Aprobada según la evaluación crediticia.")).toBeInTheDocument();
    expect(screen.queryByText(/Motivo/)).not.toBeInTheDocument();
  });

  it("says a request set back to review waits for a person (not that it was decided)", () => {
    show({ ...base, status: "in_review", reason: "manual" });
    expect(screen.getByText("Espera la decisión de una persona de nuestro equipo.")).toBeInTheDocument();
    expect(screen.queryByText(/Decidida por/)).not.toBeInTheDocument();
  });

  it("gives the reason of a rejection", () => {
    show({ ...base, status: "rejected", reason: "identity" }, "en");
    expect(screen.getByRole("heading", { level: 2 })).toHaveTextContent("Rejected");
    expect(screen.getByText("Reason: the details do not match the identity registry.")).toBeInTheDocument();
  });

  it("explains in-review without a reason or decision date", () => {
    const { decided_at: _, ...undecided } = base;
    show({ ...undecided, status: "in_review", reason: "" });
    expect(screen.getByRole("heading", { level: 2 })).toHaveTextContent("En revisión");
    expect(screen.getByText(/esta página se actualiza sola/)).toBeInTheDocument();
    expect(screen.queryByText(/Motivo/)).not.toBeInTheDocument();
    expect(screen.queryByText("Decidida")).not.toBeInTheDocument();
  });
});
