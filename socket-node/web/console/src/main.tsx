// The console's entry: restores the session from its cookie, then draws the app.
import { render } from "preact";
import { App } from "./app";
import { session } from "./session";
import "uplot/dist/uPlot.min.css";
import "./styles.css";

void session.restore();
const root = document.getElementById("app");
if (root) render(<App />, root);
