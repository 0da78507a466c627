/**
 * Phrase banks for the load set: industries with their audiences, problems and products, and
 * sentence templates that descriptions, titles and agent payloads are assembled from. Names are
 * common given names and surnames combined at random; emails use the reserved example.* domains,
 * so no row can belong to a real person.
 */
import { KNOWN_AGENT_TYPES } from '../../src/validation/agent-results.js';

export interface Industry {
  /** kebab-case, used in agent payloads (`context.industry`). */
  slug: string;
  label: string;
  audiences: readonly string[];
  problems: readonly string[];
  products: readonly string[];
  /** A plausible competitor description, for competitive-analysis findings. */
  incumbents: readonly string[];
}

export const INDUSTRIES: readonly Industry[] = [
  {
    slug: 'healthcare',
    label: 'Healthcare',
    audiences: [
      'independent physiotherapy clinics',
      'rural general practices',
      'home-care agencies',
      'dental practices with two to ten chairs',
      'community pharmacies',
    ],
    problems: [
      'late cancellations leave expensive slots empty',
      'staff spend hours a week on insurance paperwork',
      'patients forget follow-up exercises between visits',
      'rota changes are still negotiated by phone',
      'stock of short-dated medicines expires on the shelf',
    ],
    products: [
      'scheduling assistant',
      'claims pre-check service',
      'patient follow-up app',
      'shift-swap marketplace',
      'inventory early-warning tool',
    ],
    incumbents: ['large practice-management suites', 'generic booking widgets', 'spreadsheet templates sold by consultants'],
  },
  {
    slug: 'education',
    label: 'Education',
    audiences: [
      'community college students',
      'secondary school maths teachers',
      'adult learners retraining for IT jobs',
      'language schools',
      'parents of home-schooled children',
    ],
    problems: [
      'tutoring is too expensive during exam season',
      'marking takes most of the weekend',
      'online courses are rarely finished',
      'class schedules change every term',
      'progress is hard to show to parents',
    ],
    products: [
      'peer tutoring marketplace',
      'assisted marking tool',
      'cohort-based course platform',
      'timetable planner',
      'progress report generator',
    ],
    incumbents: ['national tutoring chains', 'free video platforms', 'learning management systems bundled with school contracts'],
  },
  {
    slug: 'logistics',
    label: 'Logistics',
    audiences: [
      'regional refrigerated hauliers',
      'small e-commerce shops',
      'urban cargo-bike couriers',
      'wholesale food distributors',
      'furniture retailers',
    ],
    problems: [
      'trucks drive back empty after deliveries',
      'return shipments cost more than the margin',
      'delivery windows are missed in city centres',
      'pallets go missing between depots',
      'bulky items need two-person delivery slots',
    ],
    products: [
      'backhaul matching service',
      'returns consolidation network',
      'micro-hub booking platform',
      'pallet tracking service',
      'two-person delivery scheduler',
    ],
    incumbents: ['freight exchanges for large fleets', 'national parcel carriers', 'in-house dispatch spreadsheets'],
  },
  {
    slug: 'retail',
    label: 'Retail',
    audiences: [
      'independent bookshops',
      'second-hand clothing stores',
      'farm shops',
      'bicycle repair shops',
      'neighbourhood hardware stores',
    ],
    problems: [
      'stock data lives in three different systems',
      'customers compare prices online while in the shop',
      'seasonal stock is ordered by gut feeling',
      'loyalty cards are paper and easily lost',
      'repairs are tracked on sticky notes',
    ],
    products: [
      'unified stock sync',
      'in-store price comparison kiosk',
      'demand forecasting assistant',
      'digital loyalty wallet',
      'repair ticketing app',
    ],
    incumbents: ['point-of-sale vendors with add-on modules', 'marketplace seller tools', 'loyalty programmes of national chains'],
  },
  {
    slug: 'food-and-beverage',
    label: 'Food and beverage',
    audiences: ['small breweries', 'restaurants with a daily changing menu', 'office canteens', 'food trucks', 'bakeries supplying cafés'],
    problems: [
      'food waste eats into already thin margins',
      'allergen labelling is done by hand',
      'suppliers change prices weekly',
      'demand swings with the weather',
      'orders from cafés arrive by text message at night',
    ],
    products: [
      'waste tracking scale and app',
      'allergen label printer service',
      'supplier price watch',
      'weather-aware prep planner',
      'wholesale ordering portal',
    ],
    incumbents: ['restaurant ERP systems', 'generic label software', 'distributor ordering apps'],
  },
  {
    slug: 'fintech',
    label: 'Financial services',
    audiences: ['freelance designers', 'small landlords', 'credit unions', 'sole traders in construction', 'student societies'],
    problems: [
      'invoices are paid sixty days late',
      'quarterly tax estimates are guesswork',
      'member onboarding takes two weeks',
      'receipts are lost before the tax return',
      'treasurers change every year and records go with them',
    ],
    products: [
      'invoice financing marketplace',
      'tax set-aside assistant',
      'digital onboarding kit',
      'receipt capture service',
      'shared treasury ledger',
    ],
    incumbents: ['high-street banks', 'accounting packages for small businesses', 'payment apps with basic bookkeeping'],
  },
  {
    slug: 'real-estate',
    label: 'Real estate',
    audiences: [
      'letting agents',
      'housing co-operatives',
      'facility managers of office buildings',
      'holiday-let owners',
      'student housing providers',
    ],
    problems: [
      'maintenance requests get lost in email',
      'viewings are booked back and forth by phone',
      'energy use per floor is unknown',
      'cleaning between guests is hard to coordinate',
      'deposit disputes drag on for months',
    ],
    products: [
      'maintenance request tracker',
      'self-service viewing scheduler',
      'sub-metering dashboard',
      'turnover cleaning coordinator',
      'check-in photo inventory app',
    ],
    incumbents: ['property management suites', 'listing portals', 'building management systems'],
  },
  {
    slug: 'agriculture',
    label: 'Agriculture',
    audiences: ['mixed family farms', 'market gardeners', 'vineyards', 'dairy co-operatives', 'orchard owners'],
    problems: [
      'irrigation runs on fixed timers regardless of rain',
      'buyers for small harvests are hard to find',
      'frost warnings arrive too late',
      'machinery sits idle most of the year',
      'compliance records are kept on paper',
    ],
    products: [
      'soil-moisture irrigation controller',
      'direct-to-restaurant produce marketplace',
      'frost alert network',
      'machinery sharing platform',
      'farm compliance logbook',
    ],
    incumbents: ['agricultural co-op buying desks', 'precision-farming suites for large estates', 'weather services'],
  },
  {
    slug: 'travel-and-hospitality',
    label: 'Travel and hospitality',
    audiences: ['boutique hotels', 'mountain guides', 'campsites', 'tour operators for school trips', 'bed-and-breakfasts'],
    problems: [
      'booking platforms take a large commission',
      'group bookings need dozens of emails',
      'guests arrive without the right equipment',
      'cancellations cluster around bad weather',
      'reviews are spread over five sites',
    ],
    products: [
      'direct booking engine',
      'group trip organiser',
      'pre-arrival checklist app',
      'weather-based cancellation insurance',
      'review aggregator',
    ],
    incumbents: ['online travel agencies', 'channel managers', 'generic form builders'],
  },
  {
    slug: 'manufacturing',
    label: 'Manufacturing',
    audiences: ['contract machine shops', 'small furniture makers', 'textile workshops', 'electronics assemblers', 'packaging producers'],
    problems: [
      'quotes take days because of manual costing',
      'machines break down without warning',
      'offcuts of material are thrown away',
      'skilled operators are retiring',
      'customers ask for carbon figures per order',
    ],
    products: [
      'instant quoting engine',
      'vibration-based maintenance sensor',
      'offcut marketplace',
      'operator training videos with checklists',
      'per-order carbon calculator',
    ],
    incumbents: ['large ERP vendors', 'maintenance consultancies', 'industry associations'],
  },
  {
    slug: 'energy',
    label: 'Energy',
    audiences: [
      'households with solar panels',
      'small commercial buildings',
      'electric-vehicle fleet operators',
      'energy co-operatives',
      'installers of heat pumps',
    ],
    problems: [
      'surplus solar power is sold back for almost nothing',
      'heating runs in empty rooms',
      'vehicles charge at peak prices',
      'members do not understand their bills',
      'installers spend a day on each quote',
    ],
    products: [
      'home battery optimiser',
      'occupancy-aware heating controller',
      'smart charging scheduler',
      'co-operative billing portal',
      'heat-pump survey app',
    ],
    incumbents: ['utility apps', 'thermostat manufacturers', 'installer software bundled with equipment'],
  },
  {
    slug: 'media-and-entertainment',
    label: 'Media and entertainment',
    audiences: ['independent podcasters', 'local theatres', 'music teachers', 'community radio stations', 'indie game studios'],
    problems: [
      'sponsorship deals are negotiated one by one',
      'ticket sales are unpredictable until the last week',
      'lessons are cancelled without notice',
      'volunteers rotate and knowledge is lost',
      'playtesting is slow and unstructured',
    ],
    products: [
      'sponsorship marketplace',
      'dynamic ticket pricing tool',
      'lesson booking and payment app',
      'volunteer handbook wiki',
      'remote playtesting service',
    ],
    incumbents: ['ad networks', 'national ticketing platforms', 'general-purpose booking apps'],
  },
];

export const FIRST_NAMES = [
  'amara',
  'ben',
  'carla',
  'dmitri',
  'elif',
  'felix',
  'grace',
  'hiro',
  'ines',
  'jonas',
  'kofi',
  'lena',
  'mateo',
  'nadia',
  'oscar',
  'priya',
  'quinn',
  'rosa',
  'samir',
  'tessa',
  'umar',
  'vera',
  'wen',
  'ximena',
  'yusuf',
  'zoe',
  'arjun',
  'bianca',
  'chen',
  'dara',
  'emil',
  'fatima',
  'gus',
  'hana',
  'ivan',
  'jade',
  'kai',
  'liam',
  'maya',
  'noah',
] as const;

export const LAST_NAMES = [
  'abbott',
  'baker',
  'castillo',
  'dubois',
  'eriksen',
  'fischer',
  'garcia',
  'haddad',
  'ibrahim',
  'jensen',
  'kowalski',
  'lindqvist',
  'moreau',
  'nakamura',
  'okafor',
  'petrov',
  'quintero',
  'rossi',
  'schmidt',
  'tanaka',
  'umarov',
  'vasquez',
  'walsh',
  'xu',
  'yilmaz',
  'zimmermann',
  'andersen',
  'bianchi',
  'costa',
  'delgado',
  'evans',
  'fernandes',
  'gallagher',
  'horvat',
  'iyer',
  'johansson',
  'kim',
  'lopez',
  'murphy',
  'novak',
] as const;

export const EMAIL_DOMAINS = ['example.com', 'example.org', 'example.net'] as const;

export const REGIONS = [
  'UK',
  'Ireland',
  'Germany',
  'the Netherlands',
  'the Nordics',
  'Spain',
  'the US Midwest',
  'Ontario',
  'New South Wales',
  'France',
] as const;
export const REGION_CODES = ['GB', 'IE', 'DE', 'NL', 'SE', 'ES', 'US', 'CA', 'AU', 'FR'] as const;

export const TITLE_PREFIXES = [
  '',
  '',
  '',
  'Affordable ',
  'Subscription-based ',
  'AI-assisted ',
  'Self-service ',
  'Local ',
  'Mobile-first ',
] as const;

/** Sentences after the opening one. `{a}` audience, `{p}` problem, `{s}` product, `{S}` a/an product, `{r}` region, `{n}` a number. */
export const SENTENCES = [
  'Today most {a} handle this with spreadsheets, phone calls and a lot of goodwill.',
  'The {s} plugs into the tools they already use, so there is nothing new to learn on day one.',
  'We would start in {r}, where we already know a dozen owners willing to pilot it.',
  'Pricing is a flat monthly fee of about {n} dollars per site, with the first month free.',
  'Early interviews suggest that {p} costs a typical business several hours every week.',
  'A second revenue stream would come from an annual benchmark report sold to suppliers.',
  'The first version is deliberately small: one workflow, done well, with a human on call for support.',
  'Sales would go through trade associations and the two largest online communities for {a}.',
  'The main risk is that incumbents add a similar feature; our answer is speed and a narrower focus.',
  'Data stays in the region and is never sold, which matters to {a} more than we expected.',
  'Setup takes under an hour and needs no IT department.',
  'We estimate roughly {n} thousand potential customers in {r} alone.',
  'Word of mouth is strong in this market: owners meet at the same fairs and read the same newsletters.',
  'A free tier for the smallest customers keeps acquisition cheap and feeds the paid plans.',
  'Integrations are the expensive part, so we would build them one at a time, in the order customers ask.',
  'Customers told us they would switch if the product saved them at least two hours a week.',
  'Later, the same platform could serve neighbouring segments with little extra work.',
  'Regulation is light today, but new reporting rules from next year make the problem more pressing.',
  'The founding team has worked with {a} for years and knows the buying process first hand.',
  'Success in the first year means {n} paying customers and a churn rate below five percent a month.',
] as const;

export const OPENINGS = [
  '{S} for {a}, because {p}.',
  'For {a}, {p}; this {s} fixes that.',
  '{A} tell us that {p}. We want to build {S} that takes the problem off their hands.',
  'Many {a} lose money because {p}, and no tool addresses it directly.',
] as const;

/** The agents of the load set: every known agent type. */
export const AGENT_TYPES = KNOWN_AGENT_TYPES;

/** Per agent: finding topics, a details builder key, and phrases for summaries and insights. */
export const AGENT_TOPICS: Record<(typeof AGENT_TYPES)[number], readonly string[]> = {
  'market-research': ['market-size', 'trend', 'growth'],
  'competitive-analysis': ['competitor', 'pricing', 'differentiation'],
  'customer-research': ['pain-point', 'willingness-to-pay', 'persona'],
  'financial-modeling': ['unit-economics', 'break-even', 'funding'],
  'technical-feasibility': ['architecture', 'integration', 'team'],
  'regulatory-review': ['licensing', 'data-protection', 'consumer-law'],
  'go-to-market': ['channel', 'partnership', 'launch'],
  'risk-assessment': ['execution', 'market', 'dependency'],
};

export const FINDING_STATEMENTS = [
  'Spending on tools for {a} grew in each of the last three years.',
  'Most {a} we could find still rely on manual processes.',
  '{I} dominate the segment but serve it as an afterthought.',
  'Owners quoted {p} as a top-three problem.',
  'A price around {n} dollars a month is within the range owners already pay for software.',
  'Payback on acquisition cost is plausible within {m} months.',
  'The integrations needed are well documented and can be built by a small team.',
  'No licence is required, but data protection rules apply to customer records.',
  'Trade fairs and associations reach most of the segment at low cost.',
  'The dependency on two integration partners is the largest single risk.',
] as const;

export const INSIGHT_TITLES: Record<'strength' | 'weakness' | 'opportunity' | 'threat' | 'recommendation', readonly string[]> = {
  strength: ['Clear, measurable pain', 'Narrow focus beats generic tools', 'Low setup effort', 'Founders know the buyers'],
  weakness: ['Small average contract value', 'Long integration work', 'Seasonal demand', 'Thin differentiation'],
  opportunity: [
    'Regulation pushes demand',
    'Incumbents ignore the segment',
    'Adjacent segments share the problem',
    'Partners can resell it',
  ],
  threat: [
    'Incumbents may copy the feature',
    'Price sensitivity of small buyers',
    'Integration partners may change terms',
    'Economic downturn cuts budgets',
  ],
  recommendation: [
    'Run a paid pilot with ten customers',
    'Price per site, not per user',
    'Start with one integration',
    'Sell through trade associations',
  ],
};

export const AGENT_ERRORS = [
  'the model provider timed out after 3 attempts',
  'output did not match the expected JSON schema',
  'rate limited by the model provider',
  'source fetch failed: connection reset',
  'context window exceeded while summarising sources',
] as const;

export const EVALUATION_ERRORS = [
  'worker lease expired 3 times; giving up',
  'idea description could not be parsed into a snapshot',
  'aborted by an operator',
] as const;

export const WORKERS = [
  'agent-worker-1',
  'agent-worker-2',
  'agent-worker-3',
  'agent-worker-4',
  'batch-runner-eu-1',
  'batch-runner-us-1',
] as const;

export const MODELS = ['claude-sonnet-4', 'claude-haiku-4', 'gpt-4.1', 'gpt-4.1-mini'] as const;
