import { registerBackendCases } from "./_backend_cases.ts";
import { createCpuBackend } from "../mod.ts";

registerBackendCases("cpu", () => Promise.resolve(createCpuBackend()));
