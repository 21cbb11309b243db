// The dashboard page: fetches each chart's rows from /api/charts/<name>, draws
// them with Chart.js and writes the same rows into an accessible table. Values
// arrive as exact text; the tables show them formatted without ever going
// through a float (Chart.js needs numbers only to size its bars and lines).

const REFRESH_MS = 60_000
const CURRENCY_COLOURS = { GBP: '#3867d6', USD: '#20bf6b', EUR: '#f7b731' }
const STATUS_COLOURS = { paid: '#20bf6b', due: '#eb3b5a' }
const PALETTE = ['#3867d6', '#20bf6b', '#f7b731', '#8854d0', '#eb3b5a', '#0fb9b1', '#fa8231', '#4b6584']

const money = (key, label) => ({ key, label, format: 'money' })
const count = (key, label) => ({ key, label, format: 'int' })
const text = (key, label) => ({ key, label, format: 'text' })
const time = (key, label) => ({ key, label, format: 'time' })

/** One entry per chart endpoint: where it goes, how its rows become a chart and a table. */
const CHARTS = [
  {
    name: 'sales-by-month', section: 'sales', wide: true, type: 'line',
    title: 'Sales by month and currency',
    note: 'Revenue (units × unit price) of the latest version of each sales order, by the month it was created.',
    label: (r) => r.month, series: (r) => r.currency_code, value: 'revenue',
    columns: [text('month', 'Month'), text('currency_code', 'Currency'), count('orders', 'Orders'), count('units_sold', 'Units'), money('revenue', 'Revenue')],
  },
  {
    name: 'top-designs', section: 'designs', type: 'bar', horizontal: true,
    title: 'Top designs', note: 'The ten designs with the most units sold.',
    label: (r) => `${r.design_name} #${r.design_id}`, value: 'units_sold', colour: '#8854d0',
    columns: [count('design_id', 'Design id'), text('design_name', 'Design'), count('orders', 'Orders'), count('units_sold', 'Units')],
  },
  {
    name: 'sales-by-country', section: 'sales', type: 'bar', horizontal: true,
    title: 'Sales by country', note: 'Revenue by delivery country, per currency.',
    label: (r) => r.country, series: (r) => r.currency_code, value: 'revenue',
    columns: [text('country', 'Country'), text('currency_code', 'Currency'), count('orders', 'Orders'), count('units_sold', 'Units'), money('revenue', 'Revenue')],
  },
  {
    name: 'sales-by-staff', section: 'sales', type: 'bar', horizontal: true,
    title: 'Sales by staff', note: 'Revenue by the member of staff who made the sale, per currency.',
    key: (r) => r.staff_id, label: (r) => r.staff_name, series: (r) => r.currency_code, value: 'revenue',
    columns: [text('staff_name', 'Staff'), text('department_name', 'Department'), text('currency_code', 'Currency'), count('orders', 'Orders'), money('revenue', 'Revenue')],
  },
  {
    name: 'payments-paid-vs-due', section: 'designs', type: 'bar',
    title: 'Payments: paid vs due', note: 'Latest version of each payment, by currency and payment type.',
    label: (r) => `${r.currency_code} ${titleCase(r.payment_type_name)}`, series: (r) => r.status, value: 'amount', colours: STATUS_COLOURS,
    columns: [text('currency_code', 'Currency'), text('payment_type_name', 'Type'), text('status', 'Status'), count('payments', 'Payments'), money('amount', 'Amount')],
  },
  {
    name: 'purchases-by-supplier', section: 'purchases', wide: true, type: 'bar',
    title: 'Purchases by supplier', note: 'Item quantity × item unit price, latest version of each purchase order, per currency.',
    key: (r) => r.counterparty_id, label: (r) => r.supplier, series: (r) => r.currency_code, value: 'amount',
    columns: [text('supplier', 'Supplier'), text('currency_code', 'Currency'), count('orders', 'Orders'), count('items', 'Items'), money('amount', 'Amount')],
  },
  {
    name: 'health-runs', section: 'health', type: 'bar', reverse: true,
    title: 'Last runs loaded', note: 'Rows each run brought, oldest on the left; from the ledger _starline_loads.',
    label: (r) => r.run_id, value: 'rows', colour: '#4b6584', open: true,
    columns: [text('run_id', 'Run'), text('status', 'Status'), count('rows', 'Rows'), count('held', 'Held'), time('loaded_at', 'Loaded at (UTC)')],
  },
  {
    name: 'health-held', section: 'health', table: true,
    title: 'Held fact rows', note: 'Facts waiting for a dimension row that has not arrived, from _starline_held_<fact>.',
    columns: [text('fact_table', 'Fact table'), count('held_rows', 'Held rows'), text('oldest_run', 'Waiting since run')],
  },  {
    name: 'lake-quarantine', section: 'health', wide: true, table: true, endpoint: '/api/lake/quarantine', optional: true,
    title: 'Quarantined rows', note: 'Source rows that failed validation and never reached the warehouse, per run and table; from the processed zone’s run manifests (newest 50 runs).',
    columns: [text('run_id', 'Transform run'), text('source_table', 'Source table'), count('rows', 'Rows'), text('key', 'Object in the processed zone')],
  },
  {
    name: 'health-freshness', section: 'health', wide: true, table: true,
    title: 'Freshness per table', note: 'Lag: how long the oldest source change not yet in the warehouse has waited (as starline status computes it), against STARLINE_FRESHNESS_TARGET. Age: time since the table was last loaded (a quiet source leaves it untouched).',
    columns: [text('table_name', 'Table'), text('freshness', 'Freshness'), count('lag_seconds', 'Lag'), count('age_seconds', 'Age'), text('last_run_id', 'Last run'), time('last_loaded_at', 'Loaded at (UTC)'), count('runs', 'Runs'), count('inserted', 'Inserted'), count('updated', 'Updated')],
  },

]

function titleCase(value) {
  return String(value ?? '').toLowerCase().split('_').map((w) => w.charAt(0).toUpperCase() + w.slice(1)).join(' ')
}

/** Groups the integer part of an exact decimal string: '-1234567.80' -> '-1,234,567.80'. */
function groupDigits(value) {
  const match = /^(-?)(\d+)(\.\d+)?$/.exec(value)
  if (!match) return value
  return `${match[1]}${match[2].replace(/\B(?=(\d{3})+(?!\d))/g, ',')}${match[3] ?? ''}`
}

function formatValue(value, format, key) {
  if (value === null || value === undefined) return '—'
  if (key === 'age_seconds' || key === 'lag_seconds') return humanAge(value)
  if (format === 'money' || format === 'int') return groupDigits(value)
  // To the second for reading; the cell's data-value keeps the exact stamp.
  if (format === 'time') return value.slice(0, 19)
  return value
}

function humanAge(seconds) {
  const s = Number(seconds)
  if (s < 90) return `${s} s`
  if (s < 90 * 60) return `${Math.round(s / 60)} min`
  if (s < 48 * 3600) return `${Math.round(s / 3600)} h`
  return `${Math.round(s / 86400)} days`
}

const el = (tag, props = {}, children = []) => {
  const node = document.createElement(tag)
  for (const [key, value] of Object.entries(props)) {
    if (key === 'className') node.className = value
    else if (key === 'text') node.textContent = value
    else node.setAttribute(key, value)
  }
  for (const child of children) node.append(child)
  return node
}

function buildCard(chart) {
  const card = el('article', { className: `card${chart.wide ? ' wide' : ''}`, 'data-chart': chart.name, 'data-state': 'loading', 'aria-labelledby': `title-${chart.name}` })
  card.append(el('h3', { id: `title-${chart.name}`, text: chart.title }), el('p', { className: 'note', text: chart.note }))
  if (!chart.table) {
    const canvas = el('canvas', { role: 'img', 'aria-label': `${chart.title}: the data table below lists every value.` })
    card.append(el('div', { className: 'plot' }, [canvas]))
    const details = el('details', chart.open ? { open: '' } : {}, [el('summary', { text: 'Data table' })])
    details.append(el('div', { className: 'table-wrap' }))
    card.append(details)
  } else {
    card.append(el('div', { className: 'table-wrap' }))
  }
  card.append(el('p', { className: 'error', role: 'alert', hidden: '' }))
  document.getElementById(chart.section).append(card)
  return card
}

function renderTable(card, chart, rows) {
  const table = el('table', { 'data-chart': chart.name })
  table.append(el('caption', { text: `${chart.title}: ${rows.length} rows, exact values` }))
  const head = el('tr', {}, chart.columns.map((c) => el('th', { scope: 'col', className: c.format === 'money' || c.format === 'int' ? 'num' : '', text: c.label })))
  table.append(el('thead', {}, [head]))
  const body = el('tbody')
  for (const row of rows) {
    const tr = el('tr')
    for (const c of chart.columns) {
      const td = el('td', { className: c.format === 'money' || c.format === 'int' ? 'num' : '', 'data-column': c.key })
      if (row[c.key] !== null) td.dataset.value = row[c.key]
      // Rows waiting or set aside need someone's attention: make them stand out.
      if ((c.key === 'held' || c.key === 'held_rows' || (c.key === 'rows' && chart.name === 'lake-quarantine')) && row[c.key] !== '0') td.classList.add('warn')
      if (c.key === 'freshness' || c.key === 'status') td.append(el('span', { className: `badge ${row[c.key] ?? 'none'}`, text: row[c.key] ?? (c.key === 'freshness' ? 'unknown' : '—') }))
      else td.textContent = formatValue(row[c.key], c.format, c.key)
      tr.append(td)
    }
    body.append(tr)
  }
  table.append(body)
  const parts = [table]
  if (rows.length === 0) parts.push(el('p', { className: 'note empty', text: 'None.' }))
  card.querySelector('.table-wrap').replaceChildren(...parts)
}

function chartData(chart, rows) {
  const ordered = chart.reverse ? [...rows].reverse() : rows
  // One bar per key (an id where names can repeat: two staff called the same), labelled by name.
  const keyOf = chart.key ?? chart.label
  const keys = [...new Set(ordered.map(keyOf))]
  const nameOf = new Map(ordered.map((r) => [keyOf(r), chart.label(r)]))
  const names = [...nameOf.values()]
  const labels = keys.map((k) => (names.filter((n) => n === nameOf.get(k)).length > 1 ? `${nameOf.get(k)} #${k}` : nameOf.get(k)))
  const seriesOf = chart.series ?? (() => chart.title)
  const seriesNames = [...new Set(ordered.map(seriesOf))]
  const datasets = seriesNames.map((name, i) => {
    const colour = chart.colour ?? (chart.colours ?? CURRENCY_COLOURS)[name] ?? PALETTE[i % PALETTE.length]
    const data = labels.map(() => null)
    const exact = labels.map(() => null)
    for (const row of ordered) {
      if (seriesOf(row) !== name) continue
      const at = keys.indexOf(keyOf(row))
      data[at] = row[chart.value] === null ? null : Number(row[chart.value])
      exact[at] = row[chart.value]
    }
    return { label: name, data, exact, backgroundColor: colour, borderColor: colour, borderWidth: chart.type === 'line' ? 2 : 0, borderRadius: 3, pointRadius: 2, cubicInterpolationMode: 'monotone', maxBarThickness: 56 }
  })
  return { labels, datasets }
}

function drawChart(card, chart, rows) {
  const data = chartData(chart, rows)
  if (chart.horizontal) card.querySelector('.plot').style.height = `${Math.max(16, 3 + data.labels.length * (0.4 + 0.45 * data.datasets.length))}rem`
  if (chart.instance) {
    chart.instance.data = data
    chart.instance.update()
    return
  }
  const valueAxis = { beginAtZero: true, ticks: { callback: (v) => new Intl.NumberFormat('en-GB', { notation: 'compact' }).format(v) }, grid: { color: '#eef1f6' } }
  const labelAxis = { grid: { display: false }, ticks: { autoSkip: !chart.horizontal } }
  chart.instance = new Chart(card.querySelector('canvas'), {
    type: chart.type,
    data,
    options: {
      maintainAspectRatio: false,
      animation: false,
      indexAxis: chart.horizontal ? 'y' : 'x',
      scales: chart.horizontal ? { x: valueAxis, y: labelAxis } : { x: labelAxis, y: valueAxis },
      plugins: {
        legend: { display: Boolean(chart.series), position: 'top', align: 'end', labels: { boxWidth: 12 } },
        // Tooltips show the exact value from the query, not the float drawn.
        tooltip: { callbacks: { label: (ctx) => `${ctx.dataset.label}: ${groupDigits(ctx.dataset.exact[ctx.dataIndex] ?? '')}` } },
      },
    },
  })
}

async function refresh(cards) {
  const results = await Promise.allSettled(
    CHARTS.map(async (chart) => {
      const card = cards.get(chart.name)
      const error = card.querySelector('.error')
      try {
        const response = await fetch(chart.endpoint ?? `/api/charts/${chart.name}`, { headers: { accept: 'application/json' } })
        const body = await response.json()
        if (chart.optional && response.status === 404) {
          // Not configured (no lake here): say so, without marking the page as failing.
          card.querySelector('.table-wrap').replaceChildren(el('p', { className: 'note', text: body.error }))
          card.dataset.state = 'unavailable'
          return body
        }
        if (!response.ok) throw new Error(body.error ?? `HTTP ${response.status}`)
        renderTable(card, chart, body.rows)
        if (!chart.table) drawChart(card, chart, body.rows)
        error.hidden = true
        card.dataset.state = 'ready'
        return body
      } catch (failure) {
        error.textContent = String(failure.message ?? failure)
        error.hidden = false
        card.dataset.state = 'error'
        throw failure
      }
    }),
  )
  const runs = results[CHARTS.findIndex((c) => c.name === 'health-runs')]
  const newest = runs.status === 'fulfilled' ? runs.value.rows[0] : undefined
  document.getElementById('engine').textContent = results.find((r) => r.status === 'fulfilled' && r.value.engine)?.value.engine ?? '—'
  document.getElementById('last-load').textContent = newest ? `${newest.loaded_at.slice(0, 19)} UTC` : 'none yet'
  document.getElementById('read-at').textContent = new Date().toLocaleTimeString('en-GB')
  document.body.dataset.state = results.every((r) => r.status === 'fulfilled') ? 'ready' : 'error'
}

function start() {
  Chart.defaults.font.family = getComputedStyle(document.documentElement).fontFamily
  Chart.defaults.color = '#5f6b7a'
  const cards = new Map(CHARTS.map((chart) => [chart.name, buildCard(chart)]))
  const button = document.getElementById('refresh')
  let running = false
  const again = async () => {
    // One refresh at a time: a slow warehouse must not pile requests up.
    if (running) return
    running = true
    button.disabled = true
    if (document.body.dataset.state !== 'loading') document.body.dataset.state = 'refreshing'
    try {
      await refresh(cards)
    } finally {
      running = false
      button.disabled = false
    }
  }
  button.addEventListener('click', again)
  again().then(() => setInterval(again, REFRESH_MS))
}

start()
