// Every string a visitor sees, in one table: English, and French for browsers that ask for it.
// `{name}`-style holes are filled by `format`.

const en = {
  unread: "{count} unread",
  closeChat: "Close chat",
  endChat: "End chat",
  waitingForAgent: "We'll be with you shortly",
  formIntro: "Tell us who you are and we'll be right with you.",
  name: "Name",
  email: "Email",
  startChat: "Start chat",
  starting: "Starting…",
  nameRequired: "Please enter your name.",
  nameTooLong: "Please use at most 100 characters.",
  emailInvalid: "Please enter a valid email address.",
  conversation: "Conversation",
  message: "Message",
  messagePlaceholder: "Write a message…",
  send: "Send",
  messageTooLong: "That message is too long. Please split it up.",
  you: "You",
  sending: "Sending",
  sent: "Sent",
  read: "Read",
  reconnecting: "Reconnecting… Messages you write now will be sent when you're back.",
  typing: "{name} is typing…",
  endedClosed: "This conversation has ended.",
  endedStale: "This conversation was closed after a long silence.",
  endedBlocked: "You can't send messages in this conversation.",
  endedExpired: "This conversation is no longer available.",
  startNew: "Start a new conversation",
  transcript: "Email me a transcript",
  transcriptRequested: "We'll email you this conversation when it ends.",
  transcriptOnItsWay: "A transcript of this conversation is on its way to your email.",
  endQuestion: "End this conversation?",
  keepChatting: "Keep chatting",
  sessionsLimited: "You're starting conversations too quickly. Please try again in a minute.",
  sendingFast: "You're sending messages quickly. We'll send the rest in a moment.",
  visitorBlocked: "This site isn't taking conversations from you right now.",
  identityRefused: "We couldn't confirm who you are. Please try again later.",
  unreachable: "We couldn't reach the chat. Check your connection and try again.",
  checkDetails: "Please check your name and email.",
  newMessage: "New message",
};

export type Strings = typeof en;

const fr: Strings = {
  unread: "{count} non lu(s)",
  closeChat: "Fermer la discussion",
  endChat: "Terminer la discussion",
  waitingForAgent: "Nous arrivons dans un instant",
  formIntro: "Dites-nous qui vous êtes et nous sommes à vous tout de suite.",
  name: "Nom",
  email: "E-mail",
  startChat: "Commencer",
  starting: "Un instant…",
  nameRequired: "Veuillez indiquer votre nom.",
  nameTooLong: "100 caractères au plus, s'il vous plaît.",
  emailInvalid: "Veuillez indiquer une adresse e-mail valide.",
  conversation: "Discussion",
  message: "Message",
  messagePlaceholder: "Écrivez un message…",
  send: "Envoyer",
  messageTooLong: "Ce message est trop long. Découpez-le, s'il vous plaît.",
  you: "Vous",
  sending: "Envoi",
  sent: "Envoyé",
  read: "Lu",
  reconnecting: "Reconnexion… Vos messages partiront dès votre retour.",
  typing: "{name} écrit…",
  endedClosed: "Cette discussion est terminée.",
  endedStale: "Cette discussion a été close après un long silence.",
  endedBlocked: "Vous ne pouvez plus écrire dans cette discussion.",
  endedExpired: "Cette discussion n'est plus disponible.",
  startNew: "Commencer une nouvelle discussion",
  transcript: "M'envoyer la transcription par e-mail",
  transcriptRequested: "Nous vous enverrons cette discussion par e-mail à la fin.",
  transcriptOnItsWay: "La transcription de cette discussion part vers votre e-mail.",
  endQuestion: "Terminer cette discussion ?",
  keepChatting: "Continuer",
  sessionsLimited: "Trop de discussions commencées d'ici. Réessayez dans une minute.",
  sendingFast: "Vous écrivez vite ! Nous enverrons la suite dans un instant.",
  visitorBlocked: "Ce site n'accepte pas de discussion de votre part pour le moment.",
  identityRefused: "Nous n'avons pas pu confirmer votre identité. Réessayez plus tard.",
  unreachable: "Impossible de joindre la discussion. Vérifiez votre connexion et réessayez.",
  checkDetails: "Veuillez vérifier votre nom et votre e-mail.",
  newMessage: "Nouveau message",
};

/** The table for the browser's language. */
export function strings(language: string = navigator.language): Strings {
  return language.toLowerCase().startsWith("fr") ? fr : en;
}

/** Fills `{hole}`s with values. */
export function format(text: string, values: Record<string, string | number>): string {
  return text.replace(/\{(\w+)\}/g, (hole, key: string) => String(values[key] ?? hole));
}
