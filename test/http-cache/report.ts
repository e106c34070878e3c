/** Prints a graded run as a table per configuration. */
import type { SessionFeatures } from "./configurations.js";
import type { Summary, Tally } from "./grading.js";

function ratio(passed: number, total: number): string {
  return total === 0 ? "-" : `${passed}/${total}`;
}

function row(label: string, tally: Tally): string {
  return [
    label.padEnd(22),
    ratio(tally.passed, tally.graded).padStart(8),
    ratio(tally.required.passed, tally.required.total).padStart(10),
    ratio(tally.optimal.passed, tally.optimal.total).padStart(9),
    ratio(tally.checks.yes, tally.checks.total).padStart(8),
    String(tally.notRun || "").padStart(8),
    ratio(tally.passedWithDependencies, tally.graded).padStart(10),
  ].join("  ");
}

/** The lines printed for one configuration. */
export function formatSummary(summary: Summary, features: SessionFeatures, seconds: number): string[] {
  const { total } = summary;
  const lines = [
    `== ${summary.configuration}: ${total.passed}/${total.graded} graded tests pass ` +
      `(${summary.browserCache ? "browser" : "proxy"}-style tests, ${seconds.toFixed(0)} s; ` +
      `session ${features.shared ? "with" : "without"} the shared and policy options)`,
    [
      "group".padEnd(22),
      "passed".padStart(8),
      "required".padStart(10),
      "optimal".padStart(9),
      "checks".padStart(8),
      "not run".padStart(8),
      "with deps".padStart(10),
    ].join("  "),
  ];
  for (const group of summary.groups) {
    if (group.tally.graded + group.tally.checks.total > 0) lines.push(row(group.id, group.tally));
  }
  lines.push(row("total", total));
  lines.push(
    `graded tests: ${total.graded} (${total.required.total} required + ${total.optimal.total} optimal; ` +
      `${total.checks.total} checks answer yes or no and are not graded). Each test is graded on its own ` +
      'result; "with deps" grades as cache-tests.fyi publishes, a test failing when a test it depends on ' +
      'did not pass; "not run" counts setup, harness and retry grades',
  );
  const expected = summary.failures.filter((failure) => failure.reason !== undefined);
  const unexpected = summary.failures.filter((failure) => failure.reason === undefined);
  if (expected.length > 0) lines.push(`expected required failures: ${expected.map((f) => f.id).join(", ")}`);
  if (unexpected.length > 0) {
    lines.push(`UNEXPECTED required failures (${unexpected.length}):`);
    for (const failure of unexpected) {
      lines.push(`  ${failure.id} [${failure.group}, ${failure.grade}] ${failure.message}`);
    }
  }
  if (summary.fixed.length > 0) {
    lines.push(`expected to fail but passed (take them off the list): ${summary.fixed.join(", ")}`);
  }
  if (summary.unknown.length > 0) {
    lines.push(`on the expected list but not run in this configuration: ${summary.unknown.join(", ")}`);
  }
  return lines;
}
