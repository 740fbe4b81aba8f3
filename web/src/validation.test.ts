import { describe, expect, it } from "vitest";
import { toApplication, validate, type FormValues } from "./validation";

const good: FormValues = { full_name: "María José Pérez", email: "maria@example.com", document_number: "30.123.950", gender: "F", amount: "150000" };

describe("validate", () => {
  it("accepts a good application and normalizes it", () => {
    expect(validate(good)).toEqual({});
    expect(toApplication({ ...good, full_name: "  María   José " })).toEqual({
      full_name: "María José",
      email: "maria@example.com",
      document_number: "30123950",
      gender: "F",
      amount: 150000,
    });
  });

  it.each([
    ["full_name", "   ", "err.name.empty"],
    ["full_name", "A", "err.name"],
    ["full_name", "1234", "err.name.letters"],
    ["full_name", "Ana\u0000Maria", "err.name.control"],
    ["email", " ", "err.email.empty"],
    ["email", "not-an-email", "err.email"],
    ["email", "ana@localhost", "err.email"],
    ["document_number", " . ", "err.dni.empty"],
    ["document_number", "123456", "err.dni"],
    ["document_number", "12A45678", "err.dni"],
    ["gender", "", "err.gender"],
    ["amount", "", "err.amount.empty"],
    ["amount", "9999", "err.amount"],
    ["amount", "5000001", "err.amount"],
    ["amount", "10000.5", "err.amount"],
    ["amount", "-10000", "err.amount"],
    ["amount", "1.50.000", "err.amount"],
  ] as const)("rejects %s = %j with %s", (field, value, key) => {
    expect(validate({ ...good, [field]: value })).toEqual({ [field]: key });
  });

  it("reads thousands separators", () => {
    expect(toApplication({ ...good, amount: "150.000" }).amount).toBe(150000);
    expect(toApplication({ ...good, amount: "1,500,000" }).amount).toBe(1500000);
  });

  it("reports every bad field at once", () => {
    expect(Object.keys(validate({ full_name: "", email: "", document_number: "", gender: "", amount: "" })).sort()).toEqual(
      ["amount", "document_number", "email", "full_name", "gender"],
    );
  });

  it("accepts markup as a name; it is shown as text", () => {
    expect(validate({ ...good, full_name: "<img src=x onerror=alert(1)>" })).toEqual({});
  });
});
