// Reads JSON [{"id": ..., "expr": ...}] on stdin; prints JSON [{"id", "ok", "error"}] on stdout.
// A LogQL expression is valid when Grafana's grammar parses it without error nodes.
import { parser } from "@grafana/lezer-logql";

const input = JSON.parse(await new Promise((resolve) => {
  let data = "";
  process.stdin.on("data", (chunk) => (data += chunk));
  process.stdin.on("end", () => resolve(data));
}));

const results = input.map(({ id, expr }) => {
  const tree = parser.parse(expr);
  let error = null;
  tree.iterate({
    enter: (node) => {
      if (error === null && node.type.isError) {
        error = `syntax error at offset ${node.from}: ${JSON.stringify(expr.slice(Math.max(0, node.from - 10), node.from + 10))}`;
      }
    },
  });
  return { id, ok: error === null, error };
});
process.stdout.write(JSON.stringify(results));
