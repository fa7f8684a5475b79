/**
 * Deterministic generator of realistic Snowplow enriched events (131-field TSV) for tests, demos and
 * benchmarks: several event types, contexts and unstruct events of varied schemas, natural and synthetic
 * duplicates, and a chosen share of malformed lines of every error class, with exact ground-truth counts.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { gzipSync } from "node:zlib";
import { seededRandom } from "../samples/random.js";
import type { EnrichedErrorCode } from "./errors.js";
import { ENRICHED_FIELD_COUNT, FIELD_INDEX as F } from "./fields.js";
import { formatRunFolderName } from "./run-ids.js";

/** The error classes the generator can produce (invalid UTF-8 cannot be expressed in a JS string). */
export const GENERATED_ERROR_CODES = [
  "not_tsv",
  "field_count",
  "empty_required",
  "invalid_int",
  "invalid_double",
  "invalid_boolean",
  "invalid_timestamp",
  "invalid_json",
  "invalid_iglu_uri",
] as const satisfies readonly EnrichedErrorCode[];

export type GeneratedErrorCode = (typeof GENERATED_ERROR_CODES)[number];

export interface GeneratorOptions {
  /** Same seed, same options → byte-identical output. Default 1. */
  seed?: number;
  /** Share of malformed lines (0..1), cycling through every error class. Default 0. */
  badShare?: number;
  /** Share of lines that copy an earlier event's event_id + fingerprint with another etl_tstamp. Default 0.02. */
  naturalDuplicateShare?: number;
  /** Share of lines that reuse an earlier event_id with a new fingerprint. Default 0.01. */
  syntheticDuplicateShare?: number;
  /** Share of lines that repeat an earlier event that has no fingerprint (never de-duplicated). Default 0.005. */
  unfingerprintedDuplicateShare?: number;
  /** collector_tstamp of the first event (default 2024-03-01T00:00:00Z); later events are ~50 ms apart. */
  startTime?: Date;
}

export interface GroundTruth {
  lines: number;
  good: number;
  bad: number;
  badByCode: Record<GeneratedErrorCode, number>;
  /** Lines that in-batch natural de-duplication removes. */
  naturalDuplicates: number;
  /** Good lines sharing an event_id with an earlier line but with another fingerprint (kept by dedupe). */
  syntheticDuplicates: number;
  /** Good lines repeating an unfingerprinted event (kept by dedupe). */
  unfingerprintedDuplicates: number;
  /** UTF-8 bytes of the uncompressed text, newlines included. */
  bytes: number;
}

export function emptyGroundTruth(): GroundTruth {
  return {
    lines: 0,
    good: 0,
    bad: 0,
    badByCode: Object.fromEntries(GENERATED_ERROR_CODES.map((code) => [code, 0])) as Record<
      GeneratedErrorCode,
      number
    >,
    naturalDuplicates: 0,
    syntheticDuplicates: 0,
    unfingerprintedDuplicates: 0,
    bytes: 0,
  };
}

/** Adds `more` into `total` (for archives made of many files); `sign` -1 subtracts it instead. */
export function addGroundTruth(total: GroundTruth, more: GroundTruth, sign: 1 | -1 = 1): GroundTruth {
  total.lines += sign * more.lines;
  total.good += sign * more.good;
  total.bad += sign * more.bad;
  for (const code of GENERATED_ERROR_CODES) total.badByCode[code] += sign * more.badByCode[code];
  total.naturalDuplicates += sign * more.naturalDuplicates;
  total.syntheticDuplicates += sign * more.syntheticDuplicates;
  total.unfingerprintedDuplicates += sign * more.unfingerprintedDuplicates;
  total.bytes += sign * more.bytes;
  return total;
}

// ---------------------------------------------------------------------------------------------------------
// Value pools

const APPS = ["shop-web", "shop-ios", "blog", "docs-site", "checkout"];
const TRACKERS: Array<[string, string, string]> = [
  ["web", "sp", "js-3.17.0"],
  ["web", "cf", "js-2.18.2"],
  ["mob", "snplow", "ios-5.6.0"],
  ["mob", "snplow", "andr-5.4.1"],
  ["srv", "be", "node-3.21.0"],
];
const V_COLLECTOR = ["ssc-2.9.0-kinesis", "ssc-3.1.0-kinesis", "ssc-2.8.2-pubsub"];
const V_ETL = ["snowplow-enrich-kinesis-3.9.0", "snowplow-enrich-kinesis-4.1.0"];
const GEO: Array<[string, string, string, string, string, string, string]> = [
  ["DE", "BE", "Berlin", "10115", "52.5200", "13.4050", "Land Berlin"],
  ["FR", "IDF", "Paris", "75001", "48.8566", "2.3522", "Île-de-France"],
  ["US", "CA", "San Francisco", "94103", "37.7749", "-122.4194", "California"],
  ["GB", "ENG", "London", "EC1A", "51.5072", "-0.1276", "England"],
  ["JP", "13", "Tōkyō", "100-0001", "35.6764", "139.6500", "Tokyo"],
  ["BR", "SP", "São Paulo", "01000-000", "-23.5505", "-46.6333", "São Paulo"],
];
const GEO_TZ: Record<string, string> = {
  DE: "Europe/Berlin",
  FR: "Europe/Paris",
  US: "America/Los_Angeles",
  GB: "Europe/London",
  JP: "Asia/Tokyo",
  BR: "America/Sao_Paulo",
};
const PAGES = [
  ["/", "Home – Acme"],
  ["/products/rocket-skates", "Rocket Skates | Acme"],
  ["/products/giant-magnet", "Giant Magnet | Acme"],
  ["/blog/2024/road-runner-tips", "10 tips to catch a road runner"],
  ["/checkout/shipping", "Checkout – Shipping"],
  ["/search", "Search results"],
];
const REFERRERS: Array<[string, string, string, string, string, string]> = [
  ["https", "www.google.com", "/search", "q=acme+rocket", "search", "Google"],
  ["https", "t.co", "/AbCdEf", "", "social", "Twitter"],
  ["https", "news.ycombinator.com", "/item", "id=4242", "unknown", ""],
];
const USER_AGENTS = [
  "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Safari/605.1.15",
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/121.0.0.0 Safari/537.36",
  "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
  "Mozilla/5.0 (X11; Linux x86_64; rv:122.0) Gecko/20100101 Firefox/122.0",
];
const UA_FAMILY = ["Safari", "Chrome", "Mobile Safari", "Firefox"];
const OS_FAMILY = ["Mac OS X", "Windows", "iOS", "Linux"];
const LANGS = ["en-US", "de-DE", "fr-FR", "ja-JP", "pt-BR"];
const SCREENS: Array<[number, number]> = [
  [1920, 1080],
  [1440, 900],
  [390, 844],
  [2560, 1440],
];
const SKUS = ["RS-001", "GM-042", "TNT-7", "ANV-100"];
const CURRENCIES = ["EUR", "USD", "GBP"];
const STRUCT = [
  ["video", "play", "intro-video", "hd"],
  ["newsletter", "subscribe", "footer", ""],
  ["search", "filter", "price", "desc"],
];

const CONTEXTS_ENVELOPE = "iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-0";
const DERIVED_ENVELOPE = "iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-1";
const UNSTRUCT_ENVELOPE = "iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0";

// ---------------------------------------------------------------------------------------------------------
// Generator

type Fields = string[];

/**
 * Fields that differ per event. Everything else comes from a pool of pre-built event templates, whose
 * static text between these fields is joined once: a line is then ~20 concatenations instead of 131
 * freshly built fields, which keeps the generator well above 50 MB/s.
 */
const VARYING = [
  F.etl_tstamp,
  F.collector_tstamp,
  F.dvce_created_tstamp,
  F.event_id,
  F.dvce_sent_tstamp,
  F.refr_dvce_tstamp,
  F.derived_tstamp,
  F.event_fingerprint,
  F.true_tstamp,
] as const;
const V = {
  etl: 0,
  collector: 1,
  created: 2,
  id: 3,
  sent: 4,
  refr: 5,
  derived: 6,
  fingerprint: 7,
  true: 8,
  /** Not a whole field: the web_page context's id inside `contexts` (see PAGE_VIEW_ID_PLACEHOLDER). */
  pageViewId: 9,
} as const;
const TEMPLATE_POOL_SIZE = 512;
/**
 * Stands for the web_page context's id in a template's `contexts`. Real trackers send a new id with every
 * page view, so reusing the template's would make contexts repeat far more than in real data (and make
 * per-distinct-value work, such as the reader's JSON checks, look cheaper than it is).
 */
const PAGE_VIEW_ID_PLACEHOLDER = "00000000-0000-4000-a000-000000000000";

interface Template {
  /** Static text around the VARYING fields: line = segments[0] + values[0] + segments[1] + … */
  segments: string[];
  /** `contexts` holds PAGE_VIEW_ID_PLACEHOLDER (not when the template has no contexts). */
  hasPageViewId: boolean;
  hasFingerprint: boolean;
  hasRefrTstamp: boolean;
  hasTrueTstamp: boolean;
}

interface Original {
  template: Template;
  values: string[];
  /** etl_tstamp in ms, to give duplicates another one. */
  etl: number;
}

function render(template: Template, values: readonly string[]): string {
  const { segments } = template;
  let line = segments[0] as string;
  for (let i = 1; i < segments.length; i++) line += (values[i - 1] as string) + (segments[i] as string);
  return template.hasPageViewId
    ? line.replace(PAGE_VIEW_ID_PLACEHOLDER, values[V.pageViewId] as string)
    : line;
}

const PAD2 = Array.from({ length: 60 }, (_, i) => String(i).padStart(2, "0"));
const PAD3 = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, "0"));
const DAY_MS = 86_400_000;
let cachedDay = Number.NaN;
let cachedDayPrefix = "";

/** `yyyy-MM-dd HH:mm:ss.SSS` (UTC). Hand-formatted: Date#toISOString was the generator's hottest spot. */
function tstamp(ms: number): string {
  const day = Math.floor(ms / DAY_MS);
  if (day !== cachedDay) {
    cachedDay = day;
    cachedDayPrefix = `${new Date(day * DAY_MS).toISOString().slice(0, 10)} `;
  }
  let rest = ms - day * DAY_MS;
  const hours = Math.floor(rest / 3_600_000);
  rest -= hours * 3_600_000;
  const minutes = Math.floor(rest / 60_000);
  rest -= minutes * 60_000;
  const seconds = Math.floor(rest / 1000);
  return `${cachedDayPrefix}${PAD2[hours]}:${PAD2[minutes]}:${PAD2[seconds]}.${PAD3[rest - seconds * 1000]}`;
}

export class EnrichedEventGenerator {
  readonly truth: GroundTruth = emptyGroundTruth();
  private readonly random: () => number;
  private readonly options: Required<Omit<GeneratorOptions, "startTime" | "seed">>;
  private clock: number;
  private recent: Original[] = [];
  private recentUnfingerprinted: Original[] = [];
  private badCounter = 0;
  private readonly templates: Template[];

  constructor(options: GeneratorOptions = {}) {
    this.random = seededRandom(options.seed ?? 1);
    this.clock = (options.startTime ?? new Date("2024-03-01T00:00:00Z")).getTime();
    this.options = {
      badShare: options.badShare ?? 0,
      naturalDuplicateShare: options.naturalDuplicateShare ?? 0.02,
      syntheticDuplicateShare: options.syntheticDuplicateShare ?? 0.01,
      unfingerprintedDuplicateShare: options.unfingerprintedDuplicateShare ?? 0.005,
    };
    const start = this.clock;
    this.templates = this.buildTemplates();
    this.clock = start;
  }

  /** Starts a new batch (file): later duplicates only copy events of this batch. */
  startBatch(): void {
    this.recent = [];
    this.recentUnfingerprinted = [];
  }

  /** `count` lines, each terminated by "\n". */
  lines(count: number): string {
    const text = this.joinLines(count);
    this.truth.bytes += Buffer.byteLength(text);
    return text;
  }

  /** The same as UTF-8 bytes (faster when bytes are what you need: the encoding also counts them). */
  linesBuffer(count: number): Buffer {
    const buffer = Buffer.from(this.joinLines(count));
    this.truth.bytes += buffer.length;
    return buffer;
  }

  private joinLines(count: number): string {
    const out: string[] = new Array(count);
    for (let i = 0; i < count; i++) out[i] = this.nextLine();
    return `${out.join("\n")}\n`;
  }

  /** One line without its newline. Ground truth is updated except for `bytes` (see `lines`). */
  nextLine(): string {
    this.truth.lines++;
    const roll = this.random();
    const { badShare, naturalDuplicateShare, syntheticDuplicateShare, unfingerprintedDuplicateShare } =
      this.options;
    if (roll < badShare) {
      this.truth.bad++;
      return this.badLine();
    }
    this.truth.good++;
    let threshold = badShare + naturalDuplicateShare;
    if (roll < threshold && this.recent.length > 0) {
      this.truth.naturalDuplicates++;
      // Mostly re-processed later; sometimes the copy carries an EARLIER etl_tstamp, so dedupe keeps the copy.
      const shift = this.chance(0.3) ? -(1000 + this.int(60_000)) : 1000 + this.int(600_000);
      return this.copyWithEtl(this.pick(this.recent), shift);
    }
    threshold += syntheticDuplicateShare;
    if (roll < threshold && this.recent.length > 0) {
      this.truth.syntheticDuplicates++;
      const original = this.pick(this.recent);
      const event = this.freshEvent();
      event.values[V.id] = original.values[V.id] as string;
      if (!event.template.hasFingerprint) event.values[V.fingerprint] = this.hex(4);
      return render(event.template, event.values);
    }
    threshold += unfingerprintedDuplicateShare;
    if (roll < threshold && this.recentUnfingerprinted.length > 0) {
      this.truth.unfingerprintedDuplicates++;
      return this.copyWithEtl(this.pick(this.recentUnfingerprinted), 1000 + this.int(60_000));
    }
    const event = this.freshEvent();
    this.remember(event);
    return render(event.template, event.values);
  }

  // --- helpers ---------------------------------------------------------------------------------------------

  private int(n: number): number {
    return Math.floor(this.random() * n);
  }

  private pick<T>(values: readonly T[]): T {
    return values[this.int(values.length)] as T;
  }

  private chance(p: number): boolean {
    return this.random() < p;
  }

  /** 8 hex digits from one 32-bit draw (fewer, bigger steps than per-byte lookups). */
  private hex8(): string {
    return ((this.random() * 4294967296) >>> 0).toString(16).padStart(8, "0");
  }

  private hex(words: number): string {
    let out = "";
    for (let i = 0; i < words; i++) out += this.hex8();
    return out;
  }

  private uuid(): string {
    const a = this.hex8();
    const b = this.hex8();
    const c = this.hex8();
    return `${a}-${b.slice(0, 4)}-4${b.slice(5)}-a${c.slice(1, 4)}-${c.slice(4)}${this.hex8()}`;
  }

  private remember(event: Original): void {
    const pool = event.template.hasFingerprint ? this.recent : this.recentUnfingerprinted;
    // A bounded window of recent events keeps memory flat on big files.
    if (pool.length < 256) pool.push(event);
    else pool[this.int(256)] = event;
  }

  private copyWithEtl(original: Original, shiftMs: number): string {
    const values = original.values.slice();
    values[V.etl] = tstamp(original.etl + shiftMs);
    return render(original.template, values);
  }

  /** A new event: a random template with fresh ids and timestamps. */
  private freshEvent(): Original {
    const template = this.pick(this.templates);
    this.clock += 1 + this.int(100);
    const collector = this.clock;
    const etl = collector + 2000 + this.int(5000);
    const values = [
      tstamp(etl),
      tstamp(collector),
      tstamp(collector - 500 - this.int(3000)),
      this.uuid(),
      tstamp(collector - this.int(400)),
      template.hasRefrTstamp ? tstamp(collector - 60_000) : "",
      tstamp(collector - this.int(300)),
      template.hasFingerprint ? this.hex(4) : "",
      template.hasTrueTstamp ? tstamp(collector - 250) : "",
      this.uuid(),
    ];
    return { template, values, etl };
  }

  private buildTemplates(): Template[] {
    const templates: Template[] = [];
    for (let i = 0; i < TEMPLATE_POOL_SIZE; i++) {
      const fields = this.event(PAGE_VIEW_ID_PLACEHOLDER);
      const template: Template = {
        segments: [],
        hasPageViewId: (fields[F.contexts] as string).includes(PAGE_VIEW_ID_PLACEHOLDER),
        hasFingerprint: fields[F.event_fingerprint] !== "",
        hasRefrTstamp: fields[F.refr_dvce_tstamp] !== "",
        hasTrueTstamp: fields[F.true_tstamp] !== "",
      };
      for (const index of VARYING) fields[index] = "\u0000";
      template.segments = fields.join("\t").split("\u0000");
      templates.push(template);
    }
    return templates;
  }

  // --- good events -----------------------------------------------------------------------------------------

  /**
   * A fresh, valid event with plausible values in all 131 fields (empty where real data is), filled in phases
   * that draw from the seeded random source in a fixed order (so a seed gives the same lines).
   */
  private event(pageViewId = this.uuid()): Fields {
    const f: Fields = new Array(ENRICHED_FIELD_COUNT).fill("");
    this.clock += 1 + this.int(100);
    const collector = this.clock;
    const [platform, nameTracker, vTracker] = this.pick(TRACKERS);
    const geo = this.pick(GEO);
    const screen = this.pick(SCREENS);
    const ua = this.int(USER_AGENTS.length);

    this.trackingFields(f, collector, platform, nameTracker, vTracker);
    this.geoAndIpFields(f, geo);
    this.browserFields(f, platform, ua, screen);
    this.deviceFields(f, collector, geo[0], screen);
    this.eventFields(f);
    f[F.contexts] = this.contexts(f, pageViewId);
    f[F.derived_contexts] = this.derivedContexts(ua);
    return f;
  }

  /** Timestamps, the event id, the tracker and collector versions, the user's and the domain's ids. */
  private trackingFields(
    f: Fields,
    collector: number,
    platform: string,
    nameTracker: string,
    vTracker: string,
  ): void {
    f[F.app_id] = this.pick(APPS);
    f[F.platform] = platform;
    f[F.etl_tstamp] = tstamp(collector + 2000 + this.int(5000));
    f[F.collector_tstamp] = tstamp(collector);
    f[F.dvce_created_tstamp] = tstamp(collector - 500 - this.int(3000));
    f[F.event_id] = this.uuid();
    if (this.chance(0.05)) f[F.txn_id] = String(this.int(999_999));
    f[F.name_tracker] = nameTracker;
    f[F.v_tracker] = vTracker;
    f[F.v_collector] = this.pick(V_COLLECTOR);
    f[F.v_etl] = this.pick(V_ETL);
    if (this.chance(0.3)) f[F.user_id] = `user-${this.int(50_000)}@example.com`;
    f[F.user_ipaddress] = `${this.int(223) + 1}.${this.int(256)}.${this.int(256)}.x`;
    if (this.chance(0.1)) f[F.user_fingerprint] = String(this.int(2 ** 31));
    f[F.domain_userid] = this.hex(2);
    f[F.domain_sessionidx] = String(1 + this.int(40));
    f[F.network_userid] = this.uuid();
  }

  /** Geolocation (most events) and the ISP enrichment (some). */
  private geoAndIpFields(
    f: Fields,
    [country, region, city, zip, lat, lon, regionName]: (typeof GEO)[number],
  ): void {
    if (this.chance(0.9)) {
      f[F.geo_country] = country;
      f[F.geo_region] = region;
      f[F.geo_city] = city;
      f[F.geo_zipcode] = zip;
      f[F.geo_region_name] = regionName;
      f[F.geo_timezone] = GEO_TZ[country] as string;
      // Real data sometimes has one coordinate only: geo_location must then be absent.
      f[F.geo_latitude] = lat;
      if (!this.chance(0.02)) f[F.geo_longitude] = lon;
    }
    if (this.chance(0.2)) {
      f[F.ip_isp] = "Acme Telecom";
      f[F.ip_organization] = "Acme Telecom GmbH";
      f[F.ip_domain] = "acme-telecom.example";
      f[F.ip_netspeed] = "Cable/DSL";
    }
  }

  /** The user agent, the browser's features and sizes on the web, the legacy user-agent columns. */
  private browserFields(
    f: Fields,
    platform: string,
    ua: number,
    [screenW, screenH]: (typeof SCREENS)[number],
  ): void {
    f[F.useragent] = USER_AGENTS[ua] as string;
    f[F.br_lang] = this.pick(LANGS);
    if (platform === "web") {
      for (const feature of [
        F.br_features_pdf,
        F.br_features_flash,
        F.br_features_java,
        F.br_features_director,
        F.br_features_quicktime,
        F.br_features_realplayer,
        F.br_features_windowsmedia,
        F.br_features_gears,
        F.br_features_silverlight,
      ]) {
        f[feature] = this.chance(0.3) ? "1" : "0";
      }
      f[F.br_cookies] = this.chance(0.95) ? "1" : "0";
      f[F.br_colordepth] = "24";
      f[F.br_viewwidth] = String(screenW - this.int(40));
      f[F.br_viewheight] = String(screenH - 100 - this.int(50));
      f[F.doc_charset] = "UTF-8";
      f[F.doc_width] = String(screenW - 15);
      f[F.doc_height] = String(2000 + this.int(6000));
    }
    if (this.chance(0.3)) {
      // Legacy user-agent-utils enrichment columns: filled by older pipelines, empty in newer ones.
      f[F.br_name] = `${UA_FAMILY[ua]} ${100 + ua}`;
      f[F.br_family] = UA_FAMILY[ua] as string;
      f[F.br_version] = `${100 + ua}.0`;
      f[F.br_type] = ua === 2 ? "Browser (mobile)" : "Browser";
      f[F.br_renderengine] = ua === 3 ? "GECKO" : "WEBKIT";
      f[F.os_name] = OS_FAMILY[ua] as string;
      f[F.os_family] = OS_FAMILY[ua] as string;
      f[F.os_manufacturer] = ua === 1 ? "Microsoft Corporation" : ua === 3 ? "Other" : "Apple Inc.";
      f[F.dvce_type] = ua === 2 ? "Mobile" : "Computer";
    }
  }

  /** The device's time zone, screen and clock, the referrer, the session, the fingerprint. */
  private deviceFields(
    f: Fields,
    collector: number,
    country: string,
    [screenW, screenH]: (typeof SCREENS)[number],
  ): void {
    if (this.chance(0.01)) f[F.etl_tags] = '["backfill"]';
    f[F.os_timezone] = GEO_TZ[country] as string;
    f[F.dvce_ismobile] = screenW < 500 ? "1" : "0";
    f[F.dvce_screenwidth] = String(screenW);
    f[F.dvce_screenheight] = String(screenH);
    f[F.dvce_sent_tstamp] = tstamp(collector - this.int(400));
    if (this.chance(0.02)) {
      f[F.refr_domain_userid] = this.hex(2);
      f[F.refr_dvce_tstamp] = tstamp(collector - 60_000);
    }
    f[F.domain_sessionid] = this.uuid();
    f[F.derived_tstamp] = tstamp(collector - this.int(300));
    if (this.chance(0.9)) f[F.event_fingerprint] = this.hex(4);
    if (this.chance(0.03)) f[F.true_tstamp] = tstamp(collector - 250);
  }

  /** The page, and what happened on it: a page view, a ping, a structured or unstructured event, a sale. */
  private eventFields(f: Fields): void {
    this.pageFields(f);
    const kind = this.random();
    if (kind < 0.4) this.setEvent(f, "page_view", "page_view", "1-0-0");
    else if (kind < 0.65) this.pagePing(f);
    else if (kind < 0.8) this.structEvent(f);
    else if (kind < 0.92) this.unstructEvent(f);
    else if (kind < 0.96) this.transaction(f);
    else this.transactionItem(f);
  }

  private setEvent(
    f: Fields,
    event: string,
    name: string,
    version: string,
    vendor = "com.snowplowanalytics.snowplow",
  ) {
    f[F.event] = event;
    f[F.event_vendor] = vendor;
    f[F.event_name] = name;
    f[F.event_format] = "jsonschema";
    f[F.event_version] = version;
  }

  private pageFields(f: Fields): void {
    const [path, title] = this.pick(PAGES) as [string, string];
    const campaign = this.chance(0.15);
    const query = campaign ? "utm_source=newsletter&utm_medium=email&utm_campaign=spring" : "";
    f[F.page_url] = `https://www.acme.example${path}${query ? `?${query}` : ""}`;
    f[F.page_title] = title;
    f[F.page_urlscheme] = "https";
    f[F.page_urlhost] = "www.acme.example";
    f[F.page_urlport] = "443";
    f[F.page_urlpath] = path;
    f[F.page_urlquery] = query;
    if (this.chance(0.05)) f[F.page_urlfragment] = "reviews";
    if (campaign) {
      f[F.mkt_medium] = "email";
      f[F.mkt_source] = "newsletter";
      f[F.mkt_campaign] = "spring";
      if (this.chance(0.3)) f[F.mkt_content] = "hero-banner";
      if (this.chance(0.2)) {
        f[F.mkt_term] = "rocket skates";
        f[F.mkt_clickid] = this.hex(3);
        f[F.mkt_network] = "Google";
      }
    }
    if (this.chance(0.4)) {
      const [scheme, host, rpath, rquery, medium, source] = this.pick(REFERRERS);
      f[F.page_referrer] = `${scheme}://${host}${rpath}${rquery ? `?${rquery}` : ""}`;
      f[F.refr_urlscheme] = scheme;
      f[F.refr_urlhost] = host;
      f[F.refr_urlport] = "443";
      f[F.refr_urlpath] = rpath;
      f[F.refr_urlquery] = rquery;
      f[F.refr_medium] = medium;
      f[F.refr_source] = source;
      if (medium === "search") f[F.refr_term] = "acme rocket";
      if (this.chance(0.05)) f[F.refr_urlfragment] = "top";
    }
  }

  private pagePing(f: Fields): void {
    this.setEvent(f, "page_ping", "page_ping", "1-0-0");
    const x = this.int(50);
    const y = this.int(5000);
    f[F.pp_xoffset_min] = "0";
    f[F.pp_xoffset_max] = String(x);
    f[F.pp_yoffset_min] = String(Math.max(0, y - 800));
    f[F.pp_yoffset_max] = String(y);
  }

  private structEvent(f: Fields): void {
    this.setEvent(f, "struct", "event", "1-0-0", "com.google.analytics");
    const [category, action, label, property] = this.pick(STRUCT) as [string, string, string, string];
    f[F.se_category] = category;
    f[F.se_action] = action;
    f[F.se_label] = label;
    f[F.se_property] = property;
    if (this.chance(0.5)) f[F.se_value] = String(this.int(1000) / 10);
  }

  private unstructEvent(f: Fields): void {
    const which = this.int(3);
    let schema: string;
    let data: string;
    if (which === 0) {
      schema = "iglu:com.snowplowanalytics.snowplow/link_click/jsonschema/1-0-1";
      data = `{"targetUrl":"https://www.acme.example/products/${this.pick(SKUS)}","elementId":"cta-${this.int(9)}","elementClasses":["btn","btn-primary"]}`;
      this.setEvent(f, "unstruct", "link_click", "1-0-1");
    } else if (which === 1) {
      schema = "iglu:com.acme/addToBasket/jsonschema/1-0-0";
      data = `{"sku":"${this.pick(SKUS)}","quantity":${1 + this.int(3)},"unitPrice":${(this.int(20_000) / 100).toFixed(2)}}`;
      this.setEvent(f, "unstruct", "addToBasket", "1-0-0", "com.acme");
    } else {
      schema = "iglu:com.my-company/video-play/jsonschema/3-0-0";
      data = `{"videoId":"v${this.int(500)}","position":${this.int(600)},"muted":${this.chance(0.5)}}`;
      this.setEvent(f, "unstruct", "video-play", "3-0-0", "com.my-company");
    }
    f[F.unstruct_event] = `{"schema":"${UNSTRUCT_ENVELOPE}","data":{"schema":"${schema}","data":${data}}}`;
  }

  private transaction(f: Fields): void {
    this.setEvent(f, "transaction", "transaction", "1-0-0");
    const currency = this.pick(CURRENCIES);
    const total = (this.int(50_000) / 100).toFixed(2);
    f[F.tr_orderid] = `order-${this.int(1_000_000)}`;
    f[F.tr_affiliation] = "web-shop";
    f[F.tr_total] = total;
    f[F.tr_tax] = (Number(total) * 0.19).toFixed(2);
    f[F.tr_shipping] = "4.99";
    f[F.tr_city] = f[F.geo_city] as string;
    f[F.tr_state] = f[F.geo_region_name] as string;
    f[F.tr_country] = f[F.geo_country] as string;
    f[F.tr_currency] = currency;
    f[F.base_currency] = "EUR";
    f[F.tr_total_base] = total;
    f[F.tr_tax_base] = f[F.tr_tax] as string;
    f[F.tr_shipping_base] = "4.99";
  }

  private transactionItem(f: Fields): void {
    this.setEvent(f, "transaction_item", "transaction_item", "1-0-0");
    const price = (this.int(20_000) / 100).toFixed(2);
    f[F.ti_orderid] = `order-${this.int(1_000_000)}`;
    f[F.ti_sku] = this.pick(SKUS);
    f[F.ti_name] = "Rocket Skates";
    f[F.ti_category] = "Gadgets";
    f[F.ti_price] = price;
    f[F.ti_quantity] = String(1 + this.int(4));
    f[F.ti_currency] = this.pick(CURRENCIES);
    f[F.ti_price_base] = price;
    f[F.base_currency] = "EUR";
  }

  /** Custom contexts: camelCase names, dotted and dashed vendors, several contexts of one schema. */
  private contexts(f: Fields, pageViewId: string): string {
    const parts: string[] = [
      `{"schema":"iglu:com.snowplowanalytics.snowplow/web_page/jsonschema/1-0-0","data":{"id":"${pageViewId}"}}`,
    ];
    if (this.chance(0.3)) {
      parts.push(
        `{"schema":"iglu:org.w3/PerformanceTiming/jsonschema/1-0-0","data":{"navigationStart":${this.clock - 900},"domComplete":${this.clock - 100},"loadEventEnd":${this.clock - 50}}}`,
      );
    }
    if (f[F.page_urlpath]?.startsWith("/checkout") || this.chance(0.1)) {
      parts.push(
        `{"schema":"iglu:com.acme/checkoutStep/jsonschema/2-0-1","data":{"step":${1 + this.int(4)},"shippingMethod":"${this.chance(0.5) ? "express" : "standard"}"}}`,
      );
    }
    if (this.chance(0.25)) {
      const products = 1 + this.int(3);
      for (let i = 0; i < products; i++) {
        parts.push(
          `{"schema":"iglu:com.my-company/product/jsonschema/1-0-2","data":{"sku":"${this.pick(SKUS)}","price":${(this.int(20_000) / 100).toFixed(2)},"position":${i}}}`,
        );
      }
    }
    if (this.chance(0.1)) {
      parts.push(
        `{"schema":"iglu:com.google.analytics/cookies/jsonschema/1-0-0","data":{"_ga":"GA1.2.${this.int(2 ** 31)}.1709251200"}}`,
      );
    }
    if (this.chance(0.05)) return ""; // some trackers send no contexts at all
    return `{"schema":"${CONTEXTS_ENVELOPE}","data":[${parts.join(",")}]}`;
  }

  /** Contexts added by enrichments. */
  private derivedContexts(ua: number): string {
    if (this.chance(0.05)) return "";
    const family = UA_FAMILY[ua] as string;
    const os = OS_FAMILY[ua] as string;
    const parts = [
      `{"schema":"iglu:com.snowplowanalytics.snowplow/ua_parser_context/jsonschema/1-0-0","data":{"useragentFamily":"${family}","useragentMajor":"${100 + ua}","useragentMinor":"0","useragentPatch":null,"useragentVersion":"${family} ${100 + ua}.0","osFamily":"${os}","osMajor":"${10 + ua}","osMinor":null,"osPatch":null,"osPatchMinor":null,"osVersion":"${os}","deviceFamily":"Other"}}`,
      `{"schema":"iglu:nl.basjes/yauaa_context/jsonschema/1-0-4","data":{"deviceClass":"${ua === 2 ? "Phone" : "Desktop"}","agentName":"${family}","agentVersion":"${100 + ua}.0","operatingSystemName":"${os}","layoutEngineName":"${ua === 3 ? "Gecko" : "AppleWebKit"}"}}`,
    ];
    if (this.chance(0.5)) {
      const robot = this.chance(0.02);
      parts.push(
        `{"schema":"iglu:com.iab.snowplow/spiders_and_robots/jsonschema/1-0-0","data":{"spiderOrRobot":${robot},"category":"${robot ? "SPIDER_OR_ROBOT" : "BROWSER"}","reason":"${robot ? "FAILED_UA_INCLUDE" : "PASSED_ALL"}","primaryImpact":"${robot ? "UNKNOWN" : "NONE"}"}}`,
      );
    }
    return `{"schema":"${DERIVED_ENVELOPE}","data":[${parts.join(",")}]}`;
  }

  // --- malformed lines -------------------------------------------------------------------------------------

  /** A line with exactly one error class, cycling through the classes so every one appears. */
  private badLine(): string {
    const code = GENERATED_ERROR_CODES[
      this.badCounter++ % GENERATED_ERROR_CODES.length
    ] as GeneratedErrorCode;
    this.truth.badByCode[code]++;
    const f = this.event();
    switch (code) {
      case "not_tsv":
        return this.pick([
          "",
          "<html><body>502 Bad Gateway</body></html>",
          (f[F.event_id] as string) + " truncated",
        ]);
      case "field_count":
        return this.chance(0.5) ? f.slice(0, ENRICHED_FIELD_COUNT - 1).join("\t") : `${f.join("\t")}\textra`;
      case "empty_required":
        f[this.pick([F.event_id, F.collector_tstamp, F.v_collector, F.v_etl])] = "";
        break;
      case "invalid_int":
        f[this.pick([F.txn_id, F.domain_sessionidx, F.br_viewwidth, F.page_urlport])] = this.pick([
          "12abc",
          "1.5",
          "2147483648",
          " 7",
          "-",
        ]);
        break;
      case "invalid_double":
        f[this.pick([F.geo_latitude, F.tr_total, F.se_value, F.ti_price_base])] = this.pick([
          "1.2.3",
          "abc",
          "NaN",
          "1,5",
          "1e999",
        ]);
        break;
      case "invalid_boolean":
        f[this.pick([F.br_cookies, F.dvce_ismobile, F.br_features_pdf])] = this.pick([
          "2",
          "true",
          "yes",
          "-1",
        ]);
        break;
      case "invalid_timestamp":
        f[this.pick([F.collector_tstamp, F.etl_tstamp, F.dvce_created_tstamp, F.true_tstamp])] = this.pick([
          "2024-13-01 00:00:00",
          "2024-02-30 10:00:00",
          "2024-03-01T10:00:00Z",
          "2024-03-01 10:00:00.1234567890",
          "24-03-01 10:00:00",
          "2024-03-01 25:00:00",
        ]);
        break;
      case "invalid_json":
        f[this.pick([F.contexts, F.derived_contexts, F.unstruct_event])] = this.pick([
          `{"schema":"${CONTEXTS_ENVELOPE}","data":[{"schema":"iglu:com.acme/x/jsonschema/1-0-0","data":{"a":1}`,
          "{not json",
          `{"schema":"${CONTEXTS_ENVELOPE}","data":{"not":"an array"}}`,
        ]);
        if (f[F.unstruct_event] === `{"schema":"${CONTEXTS_ENVELOPE}","data":{"not":"an array"}}`) {
          // Valid JSON but wrong envelope in the unstruct column is an Iglu error; keep this line's class.
          f[F.unstruct_event] = `{"schema":"${UNSTRUCT_ENVELOPE}","data":{"data":{}}}`;
        }
        break;
      case "invalid_iglu_uri": {
        const uri = this.pick([
          "iglu:com.acme/checkout/jsonschema/1-0",
          "com.acme/checkout/jsonschema/1-0-0",
          "iglu:com acme/x/jsonschema/1-0-0",
        ]);
        f[F.contexts] = `{"schema":"${CONTEXTS_ENVELOPE}","data":[{"schema":"${uri}","data":{"a":1}}]}`;
        break;
      }
    }
    return f.join("\t");
  }
}

/** Generates `lines` lines of enriched TSV text in one batch. */
export function generateEnrichedTsv(
  lines: number,
  options: GeneratorOptions = {},
): { text: string; truth: GroundTruth } {
  const generator = new EnrichedEventGenerator(options);
  const text = generator.lines(lines);
  return { text, truth: generator.truth };
}

// ---------------------------------------------------------------------------------------------------------
// Archive layout

export interface ArchiveOptions extends GeneratorOptions {
  /** Local folder to write into (node fs)... */
  root?: string;
  /** ...or a callback receiving each file's path relative to the archive root and its bytes. */
  write?: (relativePath: string, data: Buffer) => Promise<void> | void;
  /** Number of run=YYYY-MM-DD-HH-mm-ss/ folders (default 3), one hour apart from startTime. */
  runs?: number;
  /** Files per run (default 2): even ones plain `part-NNNNN`, odd ones `part-NNNNN.gz`. */
  filesPerRun?: number;
  /** Lines per file (default 1000). */
  linesPerFile?: number;
}

export interface ArchiveFile {
  /** Path relative to the archive root, e.g. `run=2024-03-01-00-00-00/part-00001.gz`. */
  path: string;
  gzip: boolean;
  truth: GroundTruth;
}

export interface ArchiveResult {
  /** Run folder names with a trailing slash, e.g. `run=2024-03-01-00-00-00/`, in order. */
  runs: string[];
  files: ArchiveFile[];
  truth: GroundTruth;
}

/**
 * Lays out an enriched archive: `run=…/part-*` files (plain and .gz, each one de-duplication batch) and an
 * empty `_SUCCESS` per run, through node fs (`root`) or a callback (`write`). Returns per-file ground truth.
 */
export async function writeEnrichedArchive(options: ArchiveOptions): Promise<ArchiveResult> {
  const { root, write, runs = 3, filesPerRun = 2, linesPerFile = 1000 } = options;
  if (!root && !write) throw new Error("writeEnrichedArchive needs a root folder or a write callback");
  const put = async (relativePath: string, data: Buffer): Promise<void> => {
    if (write) return write(relativePath, data);
    const target = join(root as string, relativePath);
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, data);
  };
  const start = (options.startTime ?? new Date("2024-03-01T00:00:00Z")).getTime();
  const generator = new EnrichedEventGenerator({ ...options, startTime: new Date(start) });
  const result: ArchiveResult = { runs: [], files: [], truth: emptyGroundTruth() };
  for (let run = 0; run < runs; run++) {
    const folder = `${formatRunFolderName(new Date(start + run * 3_600_000))}/`;
    result.runs.push(folder);
    for (let file = 0; file < filesPerRun; file++) {
      const before = structuredClone(generator.truth);
      generator.startBatch();
      const text = generator.linesBuffer(linesPerFile);
      const gzip = file % 2 === 1;
      const path = `${folder}part-${String(file).padStart(5, "0")}${gzip ? ".gz" : ""}`;
      await put(path, gzip ? gzipSync(text) : text);
      // This file's truth: the generator's running totals now, less those before it.
      const truth = addGroundTruth(addGroundTruth(emptyGroundTruth(), generator.truth), before, -1);
      result.files.push({ path, gzip, truth });
    }
    await put(`${folder}_SUCCESS`, Buffer.alloc(0));
  }
  addGroundTruth(result.truth, generator.truth);
  return result;
}
