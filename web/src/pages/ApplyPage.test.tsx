import { render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { App } from "../App";
import { retryPolicy } from "../api/retry";

function renderAt(path: string) {
  window.history.pushState(null, "", path);
  return render(<App />);
}

afterEach(() => vi.restoreAllMocks());
beforeEach(() => Object.assign(retryPolicy, { attempts: 5, baseMs: 1, maxMs: 5 }));

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
    const summary = screen.getByRole("alert");
    expect(summary).toHaveTextContent("Revisá los 5 campos marcados:");
    // The summary links each problem to its field.
    expect(within(summary).getAllByRole("link").map((a) => a.getAttribute("href"))).toEqual(["#full_name", "#email", "#document_number", "#gender", "#amount"]);
    expect(screen.getByLabelText("Nombre completo")).toHaveAttribute("aria-invalid", "true");
    expect(screen.getByLabelText("Nombre completo")).toHaveFocus();
    expect(screen.getByLabelText("Nombre completo")).toHaveAccessibleDescription("Escribí tu nombre completo.");
    expect(screen.getByLabelText(/^DNI/)).toHaveAccessibleDescription("7 u 8 dígitos, con o sin puntos. Escribí el número de tu DNI.");
    expect(fetchSpy).not.toHaveBeenCalled();
  });

  it("keeps a field's error until its value is valid, and says what is wrong now", async () => {
    renderAt("/");
    await userEvent.click(screen.getByRole("button", { name: "Enviar solicitud" }));
    const dni = screen.getByLabelText(/^DNI/);
    await userEvent.type(dni, "3");
    expect(dni).toHaveAttribute("aria-invalid", "true");
    expect(dni).toHaveAccessibleDescription(/Ingresá los 7 u 8 dígitos de tu DNI/);
    await userEvent.type(dni, "0.123.95");
    expect(dni).toHaveAttribute("aria-invalid", "false");
    expect(screen.queryByText(/Ingresá los 7 u 8 dígitos de tu DNI/, { selector: "p.error" })).toBeNull();
    // The summary says what the last attempt found; it does not change under the person's hands.
    expect(screen.getByRole("alert")).toHaveTextContent("Revisá los 5 campos marcados:");
  });

  it("moves to a field from the summary", async () => {
    renderAt("/");
    await userEvent.type(screen.getByLabelText("Nombre completo"), "Ana Pérez");
    await userEvent.click(screen.getByRole("button", { name: "Enviar solicitud" }));
    const summary = screen.getByRole("alert");
    expect(summary).toHaveTextContent("Revisá los 4 campos marcados:");
    await userEvent.click(within(summary).getByRole("link", { name: "Escribí el monto que querés pedir." }));
    expect(screen.getByLabelText(/Monto/)).toHaveFocus();
  });

  it("switches to English", async () => {
    renderAt("/");
    await userEvent.click(screen.getByRole("button", { name: "English" }));
    expect(screen.getByRole("heading", { level: 1 })).toHaveTextContent("Apply for a loan");
    expect(document.documentElement.lang).toBe("en");
  });

  it("retries a filing that got no answer with the same Idempotency-Key, and says so", async () => {
    const keys: string[] = [];
    const fetchMock = vi.spyOn(globalThis, "fetch").mockImplementation(async (_url, init) => {
      keys.push(new Headers(init?.headers).get("Idempotency-Key") ?? "");
      if (keys.length === 1) throw new TypeError("network down");
      if (keys.length === 2) return new Response("<html>502</html>", { status: 502 });
      if (keys.length === 3) {
        return new Response(JSON.stringify({ type: "x", title: "Service Unavailable", status: 503, code: "unavailable" }), {
          status: 503,
          headers: { "Content-Type": "application/problem+json", "Retry-After": "0" },
        });
      }
      return new Response(
        JSON.stringify({ tracking_code: "LD-ABCDEFGHJK", status: "approved", reason: "score", amount: 150000, created_at: "2026-11-26T10:00:00Z" }),
        { status: 201, headers: { "Content-Type": "application/json" } },
      );
    });
    renderAt("/");
    await fillValidForm();
    await userEvent.click(screen.getByRole("button", { name: "Enviar solicitud" }));
    expect(await screen.findByText("LD-ABCDEFGHJK")).toBeInTheDocument();
    // four submits, then the decision page's refresh (which may still be on its way)
    await waitFor(() => expect(fetchMock).toHaveBeenCalledTimes(5));
    expect(keys[0]).toMatch(/^[A-Za-z0-9-]{8,}$/);
    expect(new Set(keys.slice(0, 4)).size).toBe(1);
    expect(window.location.pathname).toBe("/requests/LD-ABCDEFGHJK");
  });

  it("shows the retry on screen, and keeps the data and the key when it gives up", async () => {
    Object.assign(retryPolicy, { attempts: 3, baseMs: 1, maxMs: 1 });
    // Every call waits until the test fails it, so the screen is read
    // between two attempts whatever the machine's speed: the test waits for
    // states, never for a moment.
    const calls: { key: string; fail: () => void }[] = [];
    vi.spyOn(globalThis, "fetch").mockImplementation(
      (_url, init) =>
        new Promise<Response>((_resolve, reject) => {
          calls.push({ key: new Headers(init?.headers).get("Idempotency-Key") ?? "", fail: () => reject(new TypeError("network down")) });
        }),
    );
    const failCall = async (n: number) => {
      await waitFor(() => expect(calls).toHaveLength(n));
      calls[n - 1]?.fail();
    };
    renderAt("/");
    await fillValidForm();
    await userEvent.click(screen.getByRole("button", { name: "Enviar solicitud" }));
    await failCall(1);
    await waitFor(() => expect(screen.getByRole("status")).toHaveTextContent(/reintentando sin duplicar tu solicitud \(intento 2 de 3\)/));
    await failCall(2);
    await waitFor(() => expect(screen.getByRole("status")).toHaveTextContent(/\(intento 3 de 3\)/));
    await failCall(3);
    expect(await screen.findByText(/No pudimos conectar/)).toBeInTheDocument();
    expect(screen.getByRole("status")).toHaveTextContent("");
    expect(calls).toHaveLength(3);
    expect(screen.getByLabelText("Nombre completo")).toHaveValue("Ana Pérez"); // nothing lost
    await userEvent.click(screen.getByRole("button", { name: "Enviar solicitud" }));
    for (const n of [4, 5, 6]) await failCall(n);
    // Given up again: the form is back (not "sending"), with the message.
    await waitFor(() => expect(screen.getByRole("button", { name: "Enviar solicitud" })).toBeEnabled());
    expect(screen.getByText(/No pudimos conectar/)).toBeInTheDocument();
    expect(new Set(calls.map((c) => c.key)).size).toBe(1); // the applicant's own retry is still the same filing
  });

  it("does not retry a refusal", async () => {
    const fetchMock = vi.spyOn(globalThis, "fetch").mockResolvedValue(
      new Response(JSON.stringify({ type: "x", title: "Too Many Requests", status: 429, code: "rate_limited" }), {
        status: 429,
        headers: { "Content-Type": "application/problem+json", "Retry-After": "30" },
      }),
    );
    renderAt("/");
    await fillValidForm();
    await userEvent.click(screen.getByRole("button", { name: "Enviar solicitud" }));
    expect(await screen.findByText(/Demasiados intentos/)).toBeInTheDocument();
    expect(fetchMock).toHaveBeenCalledTimes(1);
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
    await waitFor(() => expect(screen.getByLabelText("Correo electrónico")).toHaveFocus());
    expect(screen.getByLabelText("Correo electrónico")).toHaveAccessibleDescription("Ingresá un correo válido, por ejemplo ana@ejemplo.com.");
    expect(screen.getByRole("alert")).toHaveTextContent("Revisá el campo marcado:");
  });
});
