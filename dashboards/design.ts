/**
 * Display choices of the dashboards that no guardrail sets (the guardrails' own numbers come from StackConfig and
 * loadGuardrails()). Each is explained where it is used and in docs/dashboards.md.
 */

/**
 * Error budget remaining below this share turns the stat orange: with a quarter of the period's budget left, a
 * 1x burn (the ticket's rate) spends the rest in a quarter of the period, which is time to act, not to wait.
 */
export const ERROR_BUDGET_LOW = 0.25;

/**
 * The single-screen rule for the Conductor summary. Grafana lays panels on a grid of rows 30 px high with 8 px
 * between them (GRID_CELL_HEIGHT, GRID_CELL_VMARGIN in Grafana's source), so a panel h units high takes
 * 38h - 8 px. On a 1920x1080 screen, the browser's own chrome (tabs and address bar) takes about 90 px, Grafana's
 * top bar 40 px and the dashboard controls (variables, time picker) 40 px, plus 24 px of page padding.
 */
export interface ScreenGeometry {
    readonly widthPx: number;
    readonly heightPx: number;
    readonly browserChromePx: number;
    readonly grafanaTopBarPx: number;
    readonly dashboardControlsPx: number;
    readonly pagePaddingPx: number;
    readonly gridCellPx: number;
    readonly gridMarginPx: number;
}

export const SCREEN: ScreenGeometry = {
    widthPx: 1920,
    heightPx: 1080,
    browserChromePx: 90,
    grafanaTopBarPx: 40,
    dashboardControlsPx: 40,
    pagePaddingPx: 24,
    gridCellPx: 30,
    gridMarginPx: 8,
};

/** Visible grid height in units: the largest n with 38n - 8 <= visible px. Every summary panel must end at or above it. */
export function visibleGridUnits(screen: ScreenGeometry = SCREEN): number {
    const visible =
        screen.heightPx -
        screen.browserChromePx -
        screen.grafanaTopBarPx -
        screen.dashboardControlsPx -
        screen.pagePaddingPx;
    return Math.floor((visible + screen.gridMarginPx) / (screen.gridCellPx + screen.gridMarginPx));
}

/** Pixel height of a panel h units high. */
export function panelHeightPx(h: number, screen: ScreenGeometry = SCREEN): number {
    return h * (screen.gridCellPx + screen.gridMarginPx) - screen.gridMarginPx;
}

/**
 * Text panel sizing for the release table: Grafana's panel header takes about 32 px, a markdown table row about
 * 33 px, a paragraph line about 24 px. Used to check the release panel's content fits its panel, not only the panel
 * the screen.
 */
export const TEXT_PANEL = { headerPx: 32, tableRowPx: 33, linePx: 24 } as const;
