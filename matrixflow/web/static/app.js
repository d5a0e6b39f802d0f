// The page: send the form to POST /api/derive and show the reply. Plain JavaScript, no
// framework; math typeset by the bundled Temml (LaTeX → MathML), and where Temml cannot
// render a piece, its Unicode text is shown instead, so nothing is ever blank.
"use strict";

const $ = (id) => document.getElementById(id);

function typeset(latex, fallback, display) {
  // a <span> holding MathML, or the Unicode text when Temml is missing or refuses the LaTeX
  const box = document.createElement("span");
  box.className = "math";
  if (window.temml && latex) {
    try {
      window.temml.render(latex, box, { displayMode: !!display, throwOnError: true });
      return box;
    } catch (error) {
      console.warn("Temml could not render", latex, error);
    }
  }
  box.textContent = fallback || latex || "";
  box.classList.add("unicode");
  return box;
}

function showError(message) {
  $("results").hidden = true;
  const box = $("error");
  box.textContent = message;
  box.hidden = false;
}

function clear(element) {
  while (element.firstChild) element.removeChild(element.firstChild);
}

function renderSteps(steps) {
  const list = $("steps");
  clear(list);
  for (const step of steps) {
    const item = document.createElement("li");
    item.className = "step step-" + step.kind;
    // a step's LaTeX is one row of an align* block: "&= … && \text{identity}"
    const [math] = (step.latex || "").split("&&");
    const latex = math.replace(/^\s*&/, "").trim();
    item.appendChild(typeset(latex, step.text.trim(), false));
    if (step.identity_text) {
      const why = document.createElement("span");
      why.className = "identity";
      why.textContent = step.identity_text;
      item.appendChild(why);
    }
    list.appendChild(item);
  }
}

function renderTree(svgText) {
  const holder = $("tree");
  clear(holder);
  const doc = new DOMParser().parseFromString(svgText, "image/svg+xml");
  const svg = doc.documentElement;
  if (svg.nodeName.toLowerCase() !== "svg") {
    holder.textContent = "(the tree could not be drawn)";
    return;
  }
  svg.querySelectorAll("script, foreignObject").forEach((node) => node.remove());
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", "the expression's tree, each node with its adjoint");
  holder.appendChild(document.importNode(svg, true));
}

function row(label, content) {
  const line = document.createElement("p");
  const name = document.createElement("span");
  name.className = "label";
  name.textContent = label;
  line.appendChild(name);
  line.appendChild(typeof content === "string" ? document.createTextNode(content) : content);
  return line;
}

function renderVerdict(verdict, wrt) {
  const panel = $("verdict-panel");
  const box = $("verdict");
  clear(box);
  if (!verdict) {
    panel.hidden = true;
    return;
  }
  panel.hidden = false;
  const head = document.createElement("p");
  head.className = "verdict " + (verdict.right ? "right" : "wrong");
  head.id = "verdict-head";
  head.textContent = verdict.right ? "right" :
    verdict.kind === "unknown" ? "wrong, no classic slip found" : "wrong: " + verdict.kind;
  box.appendChild(head);
  if (verdict.kind !== "unknown") box.appendChild(row("", verdict.message));
  box.appendChild(row("∂f/∂" + wrt + " = ", typeset(verdict.gradient.latex, verdict.gradient.text)));
  box.appendChild(row("yours = ", typeset(verdict.answer.latex, verdict.answer.text)));
  if (!verdict.right && verdict.difference) {
    box.appendChild(row("difference (yours − true) = ",
      typeset(verdict.difference.latex, verdict.difference.text)));
  }
  const example = verdict.counterexample;
  if (example) {
    const inputs = Object.entries(example.values).map(([n, v]) => n + " = " + v).join(", ");
    const where = example.entry ? " (most at entry [" + example.entry.join(", ") + "])" : "";
    box.appendChild(row("counterexample: ", inputs + ": yours " + example.yours + ", true " +
      example.true + where));
  }
}

function render(reply) {
  $("error").hidden = true;
  const closed = $("closed-form");
  clear(closed);
  const lhs = "\\frac{\\partial f}{\\partial " + reply.wrt + "} = ";
  closed.appendChild(typeset(lhs + reply.closed_form.latex,
    "∂f/∂" + reply.wrt + " = " + reply.closed_form.text, true));
  $("closed-form-text").textContent = "as text: " + reply.closed_form.text;
  const check = $("check");
  check.textContent = reply.check.text;
  check.className = reply.check.agree ? "agree" : "disagree";
  renderVerdict(reply.verdict, reply.wrt);
  renderSteps(reply.steps);
  renderTree(reply.tree_svg);
  $("results").hidden = false;
}

async function derive(event) {
  if (event) event.preventDefault();
  const body = {
    expression: $("expression").value,
    wrt: $("wrt").value,
    shapes: $("shapes").value,
    answer: $("answer").value,
  };
  $("derive").disabled = true;
  $("busy").hidden = false;
  try {
    const response = await fetch("/api/derive", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    let reply;
    try {
      reply = await response.json();
    } catch (error) {
      reply = { ok: false, error: "the server answered " + response.status + " without a reply" };
    }
    if (reply.ok) render(reply); else showError(reply.error);
  } catch (error) {
    showError("no answer from the server (is matrixflow serve still running?)");
  } finally {
    $("derive").disabled = false;
    $("busy").hidden = true;
  }
}

document.addEventListener("DOMContentLoaded", () => {
  $("form").addEventListener("submit", derive);
  derive();  // the prefilled example, worked at once
});
