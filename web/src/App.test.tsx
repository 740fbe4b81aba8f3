import { render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { App } from "./App";
import { fakeApi, problem } from "./test-api";

afterEach(() => vi.restoreAllMocks());

function renderAt(path: string) {
  window.history.pushState(null, "", path);
  return render(<App />);
}

describe("public pages", () => {
  it("mark the current page in the nav and title the tab", async () => {
    renderAt("/status");
    expect(screen.getByRole("link", { name: "Seguir mi solicitud" })).toHaveAttribute("aria-current", "page");
    expect(screen.getByRole("link", { name: "Solicitar" })).not.toHaveAttribute("aria-current");
    await waitFor(() => expect(document.title).toBe("Seguir mi solicitud · LoanDesk"));
    await userEvent.click(screen.getByRole("link", { name: "Solicitar" }));
    const h1 = screen.getByRole("heading", { level: 1, name: "Solicitar un préstamo" });
    await waitFor(() => expect(h1).toHaveFocus());
    expect(screen.getByRole("link", { name: "Solicitar" })).toHaveAttribute("aria-current", "page");
  });

  it("answer an unknown address with a 404 page and ways back", async () => {
    renderAt("/no/such/page");
    expect(screen.getByRole("heading", { level: 1, name: "Página no encontrada" })).toBeInTheDocument();
    expect(screen.getByRole("link", { name: "Ir al formulario de solicitud" })).toHaveAttribute("href", "/");
    expect(screen.getByRole("link", { name: "Seguir una solicitud" })).toHaveAttribute("href", "/status");
    await waitFor(() => expect(document.title).toBe("Página no encontrada · LoanDesk"));
  });
});

describe("tracking", () => {
  it("says what a code looks like, announces it, and keeps it until the code has that shape", async () => {
    const { calls } = fakeApi({});
    renderAt("/status");
    const input = screen.getByLabelText("Código de seguimiento");
    await userEvent.type(input, "LD-123");
    await userEvent.click(screen.getByRole("button", { name: "Buscar" }));
    expect(screen.getByRole("alert")).toHaveTextContent("El código empieza con LD- y sigue con 10 letras o números");
    expect(input).toHaveAttribute("aria-invalid", "true");
    expect(input).toHaveFocus();
    await userEvent.type(input, "4567");
    expect(input).toHaveAttribute("aria-invalid", "true"); // still not a code
    await userEvent.type(input, "890");
    expect(input).toHaveAttribute("aria-invalid", "false");
    expect(calls).toHaveLength(0);
  });

  it("tells a code that does not exist apart from one that is malformed", async () => {
    fakeApi({ "GET /api/v1/requests/LD-0000000000": () => problem(404, "not_found") });
    renderAt("/status");
    await userEvent.type(screen.getByLabelText("Código de seguimiento"), "ld-0000000000");
    await userEvent.click(screen.getByRole("button", { name: "Buscar" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("No encontramos una solicitud con ese código.");
  });
});
