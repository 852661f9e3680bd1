// The API's types, generated from the functions' OpenAPI documents (gen-api.mjs).
import type { components as Analytics } from "./generated/analytics";
import type { components as Chatbots } from "./generated/chatbots";
import type { components as Tenant } from "./generated/tenant";

export type Me = Tenant["schemas"]["Me"];
export type Tokens = Tenant["schemas"]["TokensView"];
export type SignUp = Tenant["schemas"]["SignUp"];
export type SignedUp = Tenant["schemas"]["SignedUp"];
export type User = Tenant["schemas"]["UserView"];
export type Chatbot = Chatbots["schemas"]["ChatbotView"];
export type SystemStatus = Analytics["schemas"]["SystemStatus"];
export type Check = Analytics["schemas"]["Check"];
export type ChatbotsStatus = Analytics["schemas"]["ChatbotsStatus"];
export type DailyReports = Analytics["schemas"]["DailyReports"];
export type DailyReport = Analytics["schemas"]["DailyReport"];
export type Timings = Analytics["schemas"]["Timings"];
export type AgentReports = Analytics["schemas"]["AgentReports"];
export type AgentDay = Analytics["schemas"]["AgentDay"];
