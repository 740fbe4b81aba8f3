// Filings per day by outcome, drawn by hand in SVG: thirty stacked bars need
// no chart library (the whole chart is a few hundred bytes gzipped). The
// numbers are also a table for anyone who would rather read them.
import type { Activity } from "../../api/client";
import { useI18n } from "../../i18n";

const OUTCOMES = ["approved", "rejected", "in_review"] as const;
type Day = Activity["days"][number];
const total = (d: Day) => d.approved + d.rejected + d.in_review;

/** A round top for the axis: 1, 2 or 5 times a power of ten. */
export function niceMax(n: number): number {
  if (n <= 4) return 4;
  const p = 10 ** Math.floor(Math.log10(n));
  for (const m of [1, 2, 5, 10]) if (m * p >= n) return m * p;
  return 10 * p;
}

export function ActivityChart({ days }: { days: Activity["days"] }) {
  const { t, count, day } = useI18n();
  const sums = { approved: 0, rejected: 0, in_review: 0 };
  let peak = days[0];
  for (const d of days) {
    for (const o of OUTCOMES) sums[o] += d[o];
    if (peak && total(d) > total(peak)) peak = d;
  }
  const all = sums.approved + sums.rejected + sums.in_review;
  const top = niceMax(peak ? total(peak) : 0);
  const W = 10; // one day's slot in the viewBox; bars take 70% of it
  const H = 100;
  const desc =
    all === 0 || !peak
      ? t("chart.none")
      : t("chart.desc", {
          total: count(all),
          approved: count(sums.approved),
          rejected: count(sums.rejected),
          in_review: count(sums.in_review),
          peakDay: day(peak.day),
          peak: count(total(peak)),
        });
  const ticks = [0, top / 2, top];
  const labelled = days.length ? [days[0], days[Math.floor(days.length / 2)], days[days.length - 1]] : [];
  return (
    <figure className="chart" aria-labelledby="chart-title">
      <figcaption>
        <h2 id="chart-title">{t("chart.title")}</h2>
        <p id="chart-desc">{desc}</p>
      </figcaption>
      <ul className="legend" aria-hidden="true">
        {OUTCOMES.map((o) => (
          <li key={o}>
            <span className={`swatch fill-${o}`} /> {t(`stats.${o}`)}
          </li>
        ))}
      </ul>
      <div className="plot">
        <div className="y-axis" aria-hidden="true">
          {ticks
            .slice()
            .reverse()
            .map((v) => (
              <span key={v}>{count(v)}</span>
            ))}
        </div>
        <svg viewBox={`0 0 ${days.length * W} ${H}`} preserveAspectRatio="none" role="img" aria-labelledby="chart-title chart-desc">
          {ticks.map((v) => (
            <line key={v} x1={0} x2={days.length * W} y1={H - (v / top) * H} y2={H - (v / top) * H} className="grid" vectorEffect="non-scaling-stroke" />
          ))}
          {days.map((d, i) => {
            let y = H;
            return (
              <g key={d.day}>
                <title>{`${day(d.day)}: ${OUTCOMES.map((o) => `${count(d[o])} ${t(`stats.${o}`).toLowerCase()}`).join(", ")}`}</title>
                {OUTCOMES.map((o) => {
                  const h = (d[o] / top) * H;
                  y -= h;
                  return h > 0 ? <rect key={o} x={i * W + W * 0.15} y={y} width={W * 0.7} height={h} className={`fill-${o}`} /> : null;
                })}
              </g>
            );
          })}
        </svg>
        <div className="x-axis" aria-hidden="true">
          {labelled.map((d, i) => d && <span key={i}>{day(d.day)}</span>)}
        </div>
      </div>
      <details>
        <summary>{t("chart.table")}</summary>
        {/* Focusable, so a keyboard can scroll it when it is wider than a phone. */}
        <div className="table-wrap" tabIndex={0} role="region" aria-label={t("chart.table")}>
          <table className="data">
            <caption className="visually-hidden">{t("chart.title")}</caption>
            <thead>
              <tr>
                <th scope="col">{t("chart.col.day")}</th>
                {OUTCOMES.map((o) => (
                  <th scope="col" className="num" key={o}>
                    {t(`stats.${o}`)}
                  </th>
                ))}
                <th scope="col" className="num">
                  {t("chart.col.total")}
                </th>
              </tr>
            </thead>
            <tbody>
              {days.map((d) => (
                <tr key={d.day}>
                  <th scope="row">{day(d.day)}</th>
                  {OUTCOMES.map((o) => (
                    <td className="num" key={o}>
                      {count(d[o])}
                    </td>
                  ))}
                  <td className="num">{count(total(d))}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </details>
    </figure>
  );
}

export function QueuePanel({ queue }: { queue: Activity["queue"] }) {
  const { t, count } = useI18n();
  const empty = queue.ready + queue.waiting + queue.running === 0;
  return (
    <section className="queue" aria-labelledby="queue-title">
      <h2 id="queue-title">{t("queue.title")}</h2>
      {empty ? (
        <p>{t("queue.empty")}</p>
      ) : (
        <ul>
          {(["ready", "waiting", "running"] as const).map((k) => (
            <li key={k}>
              <strong className="tnum">{count(queue[k])}</strong> {t(`queue.${k}`)}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
