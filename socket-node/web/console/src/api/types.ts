// The API's types, generated from the functions' OpenAPI documents (gen-api.mjs).
import type { components as Analytics } from "./generated/analytics";
import type { components as ChatbotsApi } from "./generated/chatbots";
import type { components as TenantApi } from "./generated/tenant";

export type Me = TenantApi["schemas"]["Me"];
export type Tokens = TenantApi["schemas"]["TokensView"];
export type SignUp = TenantApi["schemas"]["SignUp"];
export type SignedUp = TenantApi["schemas"]["SignedUp"];
export type User = TenantApi["schemas"]["UserView"];
export type Invitation = TenantApi["schemas"]["Invitation"];
export type UserUpdate = TenantApi["schemas"]["UserUpdate"];
export type Role = TenantApi["schemas"]["RoleView"];
export type NewRole = TenantApi["schemas"]["NewRole"];
export type RoleUpdate = TenantApi["schemas"]["RoleUpdate"];
export type Permission = TenantApi["schemas"]["PermissionView"];
export type Tenant = TenantApi["schemas"]["TenantView"];
export type TenantUpdate = TenantApi["schemas"]["TenantUpdate"];
export type Chatbot = ChatbotsApi["schemas"]["ChatbotView"];
export type ChatbotSettings = ChatbotsApi["schemas"]["SettingsView"];
export type NewChatbot = ChatbotsApi["schemas"]["NewChatbot"];
export type ChatbotUpdate = ChatbotsApi["schemas"]["ChatbotUpdate"];
/** How a chatbot's waiting conversations reach agents. */
export type Routing = Chatbot["routing"];
export type Credentials = ChatbotsApi["schemas"]["Credentials"];
export type RotateApiKey = ChatbotsApi["schemas"]["RotateApiKey"];
export type Snippet = ChatbotsApi["schemas"]["Snippet"];
export type Block = ChatbotsApi["schemas"]["BlockView"];
export type BlockPage = ChatbotsApi["schemas"]["BlockPage"];
export type SystemStatus = Analytics["schemas"]["SystemStatus"];
export type Check = Analytics["schemas"]["Check"];
export type ChatbotsStatus = Analytics["schemas"]["ChatbotsStatus"];
export type DailyReports = Analytics["schemas"]["DailyReports"];
export type DailyReport = Analytics["schemas"]["DailyReport"];
export type Timings = Analytics["schemas"]["Timings"];
export type AgentReports = Analytics["schemas"]["AgentReports"];
export type AgentDay = Analytics["schemas"]["AgentDay"];
