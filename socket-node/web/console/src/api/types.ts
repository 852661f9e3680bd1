// The API's types, generated from the functions' OpenAPI documents (gen-api.mjs).
import type { components as Chatbots } from "./generated/chatbots";
import type { components as Tenant } from "./generated/tenant";

export type Me = Tenant["schemas"]["Me"];
export type Tokens = Tenant["schemas"]["TokensView"];
export type SignUp = Tenant["schemas"]["SignUp"];
export type SignedUp = Tenant["schemas"]["SignedUp"];
export type User = Tenant["schemas"]["UserView"];
export type Chatbot = Chatbots["schemas"]["ChatbotView"];
