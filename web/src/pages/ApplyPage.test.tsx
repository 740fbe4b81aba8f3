import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { App } from "../App";

function renderAt(path: string) {
  window.history.pushState(null, "", path);
  return render(<App />);
}

afterEach(() => vi.restoreAllMocks());

async function fillValidForm() {
  await userEvent.type(screen.getByLabelText("Nombre completo"), "Ana Pérez");
  await userEvent.type(screen.getByLabelText("Correo electrónico"), "ana@example.com");
  await userEvent.type(screen.getByLabelText(/^DNI/), "30123950");
  await userEvent.selectOptions(screen.getByLabelText(/Género/), "F");
  await userEvent.type(screen.getByLabelText(/Monto/), "150000");
}

describe("apply form", () => {
  it("shows a message per field, in Spanish, and sends nothing", async () => {
    const fetchSpy = vi.spyOn(globalThis, "fetch");
    renderAt("/");
    await userEvent.click(screen.getByRole("button", { name: "Enviar solicitud" }));
    expect(screen.getByRole("alert")).toHaveTextContent("Revisá 5 campo(s) marcados.");
    expect(screen.getByLabelText("Nombre completo")).toHaveAttribute("aria-invalid", "true");
    expect(screen.getByLabelText("Nombre completo")).toHaveFocus();
    expect(screen.getByText("El DNI tiene 7 u 8 dígitos.")).toBeInTheDocument();
    expect(screen.getByLabelText(/^DNI/)).toHaveAccessibleDescription(/7 u 8 dígitos, con o sin puntos\. El DNI tiene 7 u 8 dígitos\./);
    expect(fetchSpy).not.toHaveBeenCalled();
  });

  it("switches to English", async () => {
    renderAt("/");
    await userEvent.click(screen.getByRole("button", { name: "Cambiar idioma a inglés" }));
    expect(screen.getByRole("heading", { level: 1 })).toHaveTextContent("Apply for a loan");
    expect(document.documentElement.lang).toBe("en");
  });

  it("sends a valid request with an Idempotency-Key and keeps it for a retry", async () => {
    const keys: string[] = [];
    const fetchMock = vi.spyOn(globalThis, "fetch").mockImplementation(async (_url, init) => {
      keys.push(new Headers(init?.headers).get("Idempotency-Key") ?? "");
      if (keys.length === 1) throw new TypeError("network down");
      return new Response(
        JSON.stringify({ tracking_code: "LD-ABCDEFGHJK", status: "approved", reason: "score", amount: 150000, created_at: "2026-11-26T10:00:00Z" }),
        { status: 201, headers: { "Content-Type": "application/json" } },
      );
    });
    renderAt("/");
    await fillValidForm();
    await userEvent.click(screen.getByRole("button", { name: "Enviar solicitud" }));
    expect(await screen.findByText(/No pudimos conectar/)).toBeInTheDocument();
    expect(screen.getByLabelText("Nombre completo")).toHaveValue("Ana Pérez"); // nothing lost
    await userEvent.click(screen.getByRole("button", { name: "Enviar solicitud" }));
    expect(await screen.findByText("LD-ABCDEFGHJK")).toBeInTheDocument();
    expect(fetchMock).toHaveBeenCalledTimes(3); // two submits, then the decision page's refresh
    expect(keys[0]).toMatch(/^[A-Za-z0-9-]{8,}$/);
    expect(keys[1]).toBe(keys[0]);
    expect(window.location.pathname).toBe("/requests/LD-ABCDEFGHJK");
  });

  it("maps the API's field errors onto the form", async () => {
    vi.spyOn(globalThis, "fetch").mockResolvedValue(
      new Response(JSON.stringify({ type: "urn:loandesk:problem:invalid", title: "Bad Request", status: 400, code: "invalid", errors: { email: "is not a valid email address" } }), {
        status: 400,
        headers: { "Content-Type": "application/problem+json" },
      }),
    );
    renderAt("/");
    await fillValidForm();
    await userEvent.click(screen.getByRole("button", { name: "Enviar solicitud" }));
    expect(await screen.findByText(/Ingresá un correo válido/)).toBeInTheDocument();
    expect(screen.getByLabelText("Correo electrónico")).toHaveFocus();
  });
});
