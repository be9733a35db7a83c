"""The offline understander's vocabulary: the words merchants use, mapped to query pieces.

Data only, so adding a synonym never touches parsing logic. Every phrase is written in the
tokenised form the parser sees: lower case, punctuation and hyphens turned into spaces
("click-through rate" -> "click through rate"). Longer phrases win over shorter ones, so
"return on ad spend" is ROAS, not "ad spend".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from metricx.platforms import AD_PROVIDERS, EMAIL_PROVIDERS, PLATFORMS

# --- metrics -------------------------------------------------------------------------------------

_METRIC_WORDS: Mapping[str, tuple[str, ...]] = {
    "spend": (
        "spend",
        "spends",
        "spending",
        "spent",
        "ad spend",
        "ad spending",
        "ads spend",
        "adspend",
        "cost",
        "costs",
        "ad cost",
        "ad costs",
        "advertising cost",
        "advertising spend",
        "media spend",
        "amount spent",
        "money spent",
        "charge us",
        "charged us",
        "bill us",
        "billed us",
    ),
    "impressions": ("impressions", "impression", "imps", "impr"),
    "clicks": ("clicks", "click", "clicked", "link clicks", "link click"),
    "conversions": (
        "conversions",
        "conversion",
        "purchases",
        "purchase",
        "platform purchases",
        "platform conversions",
        "reported purchases",
        "reported conversions",
    ),
    "conversion_value": (
        "conversion value",
        "conversions value",
        "purchase value",
        "purchases value",
        "platform revenue",
        "reported revenue",
        "platform reported revenue",
        "platform conversion value",
    ),
    "leads": ("leads", "lead"),
    "cpc": ("cpc", "cpcs", "cost per click", "cost per link click", "per click", "spend per click"),
    "cpm": (
        "cpm",
        "cpms",
        "cost per mille",
        "cost per thousand",
        "cost per thousand impressions",
        "cost per 1000 impressions",
    ),
    "ctr": (
        "ctr",
        "ctrs",
        "click through rate",
        "clickthrough rate",
        "click rate",
        "click thru rate",
        "clickthru rate",
        "click thru",
    ),
    "cvr": ("cvr", "conversion rate", "conv rate", "purchase rate"),
    "cpa": (
        "cpa",
        "cpas",
        "cost per acquisition",
        "cost per purchase",
        "cost per conversion",
        "cost per order",
        "cost per result",
        "per purchase",
        "per acquisition",
        "per conversion",
        "spend per purchase",
    ),
    "roas": (
        "roas",
        "return on ad spend",
        "return on ads spend",
        "return on advertising spend",
        "platform roas",
        "reported roas",
    ),
    "cpl": ("cpl", "cost per lead", "per lead", "spend per lead"),
    "attributed_orders": (
        "attributed orders",
        "attributed order",
        "attributed purchases",
        "attributed conversions",
    ),
    "attributed_revenue": ("attributed revenue", "attributed sales", "attributed value"),
    "nc_attributed_revenue": (
        "new customer attributed revenue",
        "nc attributed revenue",
        "new customer revenue",
        "nc revenue",
    ),
    "attributed_roas": ("attributed roas", "attribution roas"),
    "nc_roas": (
        "nc roas",
        "ncroas",
        "new customer roas",
        "new customers roas",
        "new customer return on ad spend",
    ),
    "orders": (
        "orders",
        "order",
        "order count",
        "number of orders",
        "many sales",
        "number of sales",
        "sales count",
    ),
    "store_revenue": (
        "revenue",
        "revenues",
        "store revenue",
        "shop revenue",
        "shopify revenue",
        "total revenue",
        "sales",
        "total sales",
        "store sales",
        "shopify sales",
        "turnover",
    ),
    "net_sales": ("net sales", "net revenue"),
    "refunds": ("refunds", "refund", "refunded", "refunded amount"),
    "new_customers": (
        "new customers",
        "new customer",
        "first time customers",
        "first time buyers",
        "new buyers",
        "customers acquired",
    ),
    "cogs": ("cogs", "cost of goods", "cost of goods sold", "product cost", "product costs"),
    "aov": (
        "aov",
        "average order value",
        "avg order value",
        "average order size",
        "average basket",
        "basket size",
    ),
    "profit_before_ad_spend": (
        "profit before ad spend",
        "profit before ads",
        "profit before marketing",
    ),
    "gross_profit": ("profit", "profits", "gross profit", "gross profits"),
    "mer": (
        "mer",
        "marketing efficiency",
        "marketing efficiency ratio",
        "media efficiency ratio",
        "blended roas",
    ),
    "ncpa": (
        "ncpa",
        "cost per new customer",
        "per new customer",
        "new customer cpa",
        "nc cpa",
        "customer acquisition cost",
        "cac",
    ),
    "poas": ("poas", "profit on ad spend"),
    # Klaviyo's (email & SMS) figures whose words mean nothing else; the rest ("revenue",
    # "orders", "click rate" ...) become email figures beside an email word (email_questions.py)
    "email_opens": ("opens", "unique opens", "email opens"),
    "email_open_rate": ("open rate", "open rates", "opens rate", "unique open rate"),
    "email_recipients": (
        "recipients",
        "recipient",
        "email recipients",
        "emails sent",
        "messages sent",
        "texts sent",
    ),
    "email_delivered": (
        "emails delivered",
        "delivered emails",
        "messages delivered",
        "delivered messages",
        "texts delivered",
        "email deliveries",
    ),
    "email_revenue_per_recipient": (
        "revenue per recipient",
        "rpr",
        "revenue per email",
        "revenue per send",
        "sales per recipient",
    ),
    # Video figures (issue 19): Meta's 3-second plays, ThruPlays and watched quartiles, and
    # the ratios built from them; "hook" as a verb ("which video hooks best") and the watched
    # shares written as percentages are read by creative_questions.py
    "video_3s_plays": (
        "3 second views",
        "3 second video views",
        "3 second plays",
        "3 second video plays",
        "3 sec views",
        "3 sec video views",
        "3s views",
        "3s video views",
        "3s plays",
        "three second views",
        "three second video views",
        "video views",
        "video view",
        "video plays",
        "video play",
    ),
    "thruplays": ("thruplays", "thruplay", "thru plays", "thru play", "through plays"),
    "video_p25": ("p25", "video p25", "25 percent watched", "watched 25 percent"),
    "video_p50": ("p50", "video p50", "50 percent watched", "watched 50 percent"),
    "video_p75": ("p75", "video p75", "75 percent watched", "watched 75 percent"),
    "video_p100": (
        "p100",
        "video p100",
        "100 percent watched",
        "watched 100 percent",
        "completed views",
        "complete views",
        "full views",
    ),
    "thumb_stop_rate": (
        "thumb stop rate",
        "thumb stop rates",
        "thumb stop ratio",
        "thumb stop",
        "thumbstop",
        "thumbstop rate",
        "thumbstop rates",
        "hook rate",
        "hook rates",
        "hook ratio",
        "scroll stop rate",
        "scroll stopping rate",
    ),
    "hold_rate": (
        "hold rate",
        "hold rates",
        "hold ratio",
        "video hold rate",
        "15 second hold rate",
        "15s hold rate",
        "15 second hold",
        "15s hold",
    ),
    "thruplay_rate": ("thruplay rate", "thruplay rates", "thru play rate", "thruplay ratio"),
    "completion_rate": (
        "completion rate",
        "completion rates",
        "video completion rate",
        "video completion rates",
        "video completion",
        "view completion rate",
        "completion",
    ),
    "avg_watch_seconds": (
        "watch time",
        "average watch time",
        "avg watch time",
        "video watch time",
        "average video watch time",
        "avg video watch time",
        "average watch",
        "avg watch",
        "watch duration",
        "average watch duration",
        "average view duration",
        "avg view duration",
        "seconds watched",
        "average seconds watched",
    ),
    "cost_per_thruplay": (
        "cost per thruplay",
        "cost per thruplays",
        "cost per thru play",
        "cost per thruplay view",
        "cpthruplay",
        "cost per 15 second view",
    ),
}

#: Metric-sounding words the catalogue has no metric for, with the closest real metrics (LTV,
#: repeat rate, retention, margin and units are cohort and product metrics: families.py).
UNSUPPORTED_METRICS: Mapping[str, tuple[str, ...]] = {
    "engagement": ("ctr", "clicks", "impressions"),
    "engagements": ("ctr", "clicks", "impressions"),
    "reach": ("impressions", "cpm"),
    "frequency": ("impressions", "cpm"),
    "views": ("video_3s_plays", "impressions", "clicks"),
    "likes": ("clicks", "ctr"),
    "shares": ("clicks", "ctr"),
    "comments": ("clicks", "ctr"),
    "followers": ("new_customers", "clicks"),
    "sessions": ("clicks", "orders"),
    "traffic": ("clicks", "impressions"),
    "visits": ("clicks", "orders"),
    "visitors": ("clicks", "new_customers"),
    "bounce rate": ("ctr", "cvr"),
    "churn": ("new_customers", "orders"),
    "net profit": ("gross_profit", "profit_before_ad_spend", "poas"),
    "roi": ("roas", "poas", "mer"),
    "return on investment": ("roas", "poas", "mer"),
    "inventory": ("orders", "cogs"),
    "vibes": ("roas", "ctr", "store_revenue"),
    "vibe": ("roas", "ctr", "store_revenue"),
    "sentiment": ("roas", "ctr", "store_revenue"),
    "returning customers": ("new_customers", "orders"),
    "view through conversions": ("conversions", "attributed_orders"),
    "view through": ("conversions", "attributed_orders"),
    "gross sales": ("net_sales", "store_revenue", "refunds"),
    "gross revenue": ("net_sales", "store_revenue", "refunds"),
}

#: Offered when a question names no metric we know and nothing closer is found.
POPULAR_METRICS: tuple[str, ...] = (
    "spend",
    "roas",
    "cpa",
    "ctr",
    "store_revenue",
    "orders",
    "mer",
)
#: Offered when a ranking ("best ads") names no metric to rank by.
RANKING_METRICS: tuple[str, ...] = ("roas", "cpa", "ctr", "cvr", "cpc", "conversions", "spend")
#: Answered for "how are we doing?": the store's view, or the ads' view when ads are in focus.
STORE_OVERVIEW: tuple[str, ...] = ("spend", "store_revenue", "orders", "mer")
ADS_OVERVIEW: tuple[str, ...] = ("spend", "conversions", "cpa", "roas")
#: Answered when attribution is asked about without a metric.
ATTRIBUTION_OVERVIEW: tuple[str, ...] = (
    "attributed_orders",
    "attributed_revenue",
    "attributed_roas",
)

#: With an attribution model named, the platform-reported or store metric it must mean.
ATTRIBUTED_COUNTERPART: Mapping[str, str] = {
    "roas": "attributed_roas",
    "conversion_value": "attributed_revenue",
    "store_revenue": "attributed_revenue",
    "conversions": "attributed_orders",
    "orders": "attributed_orders",
}
#: Store metrics that have an ad-level counterpart when split by platform, campaign or ad.
AD_LEVEL_COUNTERPART: Mapping[str, str] = {
    "store_revenue": "attributed_revenue",
    "orders": "attributed_orders",
}
#: "the cheapest clicks": a price ranks by what each one costs, not by how many there were
COST_PER: Mapping[str, str] = {"clicks": "cpc", "impressions": "cpm", "conversions": "cpa"}
PRICE_WORDS = frozenset({"cheapest", "cheaper", "cheaply"})

# --- dimensions, grains, platforms ---------------------------------------------------------------

_DIMENSION_WORDS: Mapping[str, tuple[str, ...]] = {
    "provider": ("platform", "channel", "network", "provider", "ad platform", "ad network"),
    "account": ("account", "ad account"),
    "campaign": ("campaign",),
    "adset": ("ad set", "adset", "ad group", "adgroup"),
    "ad": ("ad",),
    # the ads' creative (issue 19): many ads show one
    "creative": ("creative", "ad creative", "creative asset"),
}

#: A creative's format in merchants' words (filters.creative_format): "video ads", "our
#: statics", "carousels". Inside a metric's own name ("video views", "video completion
#: rate") "video" names the figure, not a format.
_CREATIVE_FORMAT_WORDS: Mapping[str, tuple[str, ...]] = {
    "video": ("video", "videos", "reel", "reels"),
    "image": (
        "image",
        "images",
        "static",
        "statics",
        "still image",
        "still images",
        "photo",
        "photos",
    ),
    "carousel": ("carousel", "carousels"),
}

#: Ad platforms and tools Metricx does not connect to; the copilot says which ones it has.
UNSUPPORTED_PROVIDERS: frozenset[str] = frozenset(
    {
        "tiktok",
        "snapchat",
        "snap",
        "pinterest",
        "linkedin",
        "bing",
        "microsoft",
        "amazon",
        "twitter",
        "reddit",
        "criteo",
        "taboola",
        "outbrain",
        "mailchimp",
        "omnisend",
        "attentive",
        "postscript",
    }
) - {word for key in PLATFORMS for word in (key, *PLATFORMS[key].aliases)}
#: Email and SMS tools Metricx does not read: no ad platform can stand in for them, and the
#: copilot names the email platforms it reads instead (metricx.platforms.EMAIL_PROVIDERS)
NON_AD_SOURCES: frozenset[str] = frozenset(
    {"mailchimp", "omnisend", "attentive", "postscript"}
) - set(PLATFORMS)
#: Words that put a question in the email platforms' world ("revenue from email", "klaviyo
#: clicks"): each platform's key and aliases, and how merchants write its messages.
EMAIL_WORDS: tuple[str, ...] = (
    *(word for key in EMAIL_PROVIDERS for word in (key, *PLATFORMS[key].aliases)),
    "emails",
    "e mail",
    "e mails",
    "texts",
    "text messages",
    "sms messages",
    "newsletters",
    "email campaign",
    "email campaigns",
    "email flow",
    "email flows",
    "sms campaign",
    "sms campaigns",
    "email marketing",
    "sms marketing",
)

#: Splits the SemanticQuery cannot express; the copilot asks for one it can.
UNSUPPORTED_DIMENSIONS: frozenset[str] = frozenset(
    {
        "product",
        "products",
        "sku",
        "skus",
        "collection",
        "collections",
        "country",
        "countries",
        "region",
        "regions",
        "city",
        "cities",
        "age",
        "gender",
        "device",
        "devices",
        "placement",
        "placements",
        "keyword",
        "keywords",
        "audience",
        "audiences",
    }
)

_GRAIN_WORDS: Mapping[str, tuple[str, ...]] = {
    "hour": (
        "hourly",
        "by hour",
        "per hour",
        "each hour",
        "every hour",
        "hour by hour",
        "intraday",
        "by the hour",
    ),
    "day": (
        "daily",
        "by day",
        "per day",
        "each day",
        "every day",
        "day by day",
        "by date",
        "per date",
        "day to day",
        "by the day",
    ),
    "week": (
        "weekly",
        "by week",
        "per week",
        "each week",
        "every week",
        "week by week",
        "by calendar week",
        "per calendar week",
        "each calendar week",
        "by week number",
        "by iso week",
    ),
    "month": (
        "monthly",
        "by month",
        "per month",
        "each month",
        "every month",
        "month by month",
        "by calendar month",
        "per calendar month",
        "each calendar month",
    ),
    # no quarter grain in SemanticQuery: read so that it is asked about, never dropped
    "quarter": ("quarterly", "quarter by quarter"),
    # "over time": the grain follows the length of the range (see offline.auto_grain)
    "auto": (
        "over time",
        "trend",
        "trends",
        "trending",
        "trended",
        "timeline",
        "time series",
        "evolution",
    ),
}

_PROVIDER_WORDS: Mapping[str, tuple[str, ...]] = {
    key: (key, *PLATFORMS[key].aliases) for key in AD_PROVIDERS
}

# --- ranking -------------------------------------------------------------------------------------

#: top/bottom rank by size (spend when no metric is named); best/worst need a metric and
#: follow its "higher is better" flag; high/low are plain descending/ascending.
_RANK_WORDS: Mapping[str, tuple[str, ...]] = {
    "top": ("top", "biggest spending", "biggest spenders", "top spending", "top spenders"),
    "bottom": ("bottom",),
    "best": (
        "best",
        "best performing",
        "top performing",
        "highest performing",
        "strongest",
        "leading",
        "winning",
        "winners",
        "most efficient",
    ),
    "worst": (
        "worst",
        "worst performing",
        "lowest performing",
        "underperforming",
        "under performing",
        "weakest",
        "poorest",
        "losing",
        "losers",
        "least efficient",
    ),
    "high": (
        "highest",
        "most",
        "biggest",
        "largest",
        "greatest",
        "most expensive",
        "max",
        "maximum",
        "highest spending",
    ),
    "low": ("lowest", "least", "fewest", "smallest", "cheapest", "min", "minimum"),
    # how to order, without keeping only the first rows
    "desc": (
        "descending",
        "highest first",
        "high to low",
        "highest to lowest",
        "largest first",
        "largest to smallest",
        "biggest to smallest",
        "most to least",
        "desc",
    ),
    "asc": (
        "ascending",
        "lowest first",
        "low to high",
        "lowest to highest",
        "smallest first",
        "smallest to largest",
        "smallest to biggest",
        "least to most",
        "asc",
    ),
    "best_first": ("best first", "best to worst", "top first"),
    "worst_first": ("worst first", "worst to best"),
}

# --- attribution ---------------------------------------------------------------------------------

_MODEL_WORDS: Mapping[str, tuple[str, ...]] = {
    "first_click": (
        "first click",
        "first touch",
        "first click attribution",
        "first touchpoint",
        "first interaction",
    ),
    "last_click": ("last click", "last touch", "last touchpoint", "last interaction"),
    "last_non_direct": ("last non direct", "last non direct click", "last nondirect"),
    # "every touchpoint equal credit": credit shared evenly is the linear model
    "linear": (
        "linear",
        "equal credit",
        "even credit",
        "equal weight",
        "equal weighting",
        "credit split evenly",
        "credit split equally",
        "split credit evenly",
        "split credit equally",
        "every touchpoint equal credit",
        "each touchpoint equal credit",
        "all touchpoints equal credit",
        "equal credit to every touchpoint",
        "equal credit to each touchpoint",
        "equal credit to all touchpoints",
        "equal credit across touchpoints",
    ),
    "time_decay": ("time decay", "time decayed"),
    "position_based": ("position based", "u shaped", "u shape", "position"),
}
#: Attribution models metricx does not compute: asked about, never swapped for another
UNSUPPORTED_MODELS: frozenset[str] = frozenset(
    {"data driven", "datadriven", "algorithmic", "shapley", "markov", "w shaped", "multi touch"}
)
#: "linear model", "first click attribution": words that only repeat that it is a model
_MODEL_TAILS = ("model", "attribution", "attribution model", "models")
_MODE_WORDS: Mapping[str, tuple[str, ...]] = {
    # revenue on the order's date (cash) or on the date of the ad touch that earned it (accrual)
    "cash": (
        "cash",
        "cash basis",
        "cash mode",
        "cash accounting",
        "order date basis",
        "purchase date basis",
        "conversion date basis",
    ),
    "accrual": (
        "accrual",
        "accruals",
        "accrual basis",
        "accrual mode",
        "accrual accounting",
        "touch date",
        "touch date basis",
        "touchpoint date",
        "touchpoint date basis",
        "click date",
        "click date basis",
    ),
}

# --- everything else the parser listens for ------------------------------------------------------

_MARKERS: Mapping[str, tuple[str, ...]] = {
    "attribution": ("attribution", "attribution model", "attributions"),
    "overview": (
        "performance",
        "performing",
        "perform",
        "performed",
        "doing",
        "overview",
        "summary",
        "kpis",
        "kpi",
        "how did we do",
        "how did i do",
        "how are we doing",
        "how am i doing",
        "numbers",
        "stats",
        "metrics",
        "results",
        "dashboard",
    ),
    "additive": ("also", "too", "as well", "add", "plus", "include", "including", "along with"),
    "negate": (
        "excluding",
        "exclude",
        "except",
        "not",
        "without",
        "other than",
        "excl",
        "but not",
        "apart from",
        "besides",
        "non",
        "not counting",
        "not including",
        "leaving out",
        "leave out",
        "minus",
    ),
    "both": (
        "both",
        "both platforms",
        "all platforms",
        "both channels",
        "all channels",
        "all networks",
        "any platform",
    ),
    "total": ("total", "overall", "combined", "together", "in total", "altogether", "sum"),
    "no_compare": (
        "no comparison",
        "without comparison",
        "without the comparison",
        "drop the comparison",
        "remove the comparison",
        "no compare",
    ),
    "change": (
        "change",
        "changed",
        "changes",
        "drop",
        "dropped",
        "fall",
        "fell",
        "rise",
        "rose",
        "grow",
        "grew",
        "growth",
        "increase",
        "increased",
        "decrease",
        "decreased",
        "decline",
        "declined",
        "improve",
        "improved",
        "go up",
        "go down",
        "went up",
        "went down",
        "moved",
    ),
    "sort": (
        "sort",
        "sorted",
        "rank",
        "ranked",
        "ranking",
        "order by",
        "ordered by",
        "sorted by",
        "ranked by",
    ),
    "by": ("by", "in terms of", "based on", "according to"),
    "split": (
        "per",
        "each",
        "every",
        "across",
        "split",
        "split by",
        "broken down",
        "breakdown",
        "break down",
        "grouped by",
        "group by",
        "for each",
        "for every",
        "which",
        "what",
        "list",
        "show",
        "compare",
        "vs",
        "versus",
        "level",
        "all my",
        "individual",
        "separately",
        "divided between",
        "divided among",
        "split between",
        "spread across",
        "spread between",
        "side by side",
    ),
    "name_marker": (
        "named",
        "called",
        "containing",
        "contains",
        "contain",
        "matching",
        "match",
        "including the word",
        "with the word",
        "labelled",
        "labeled",
        "titled",
        "includes",
        "name contains",
        "name includes",
        "names containing",
        "whose name contains",
        "whose names contain",
    ),
    "ref": ("it", "those", "them", "same"),
}

#: Words that carry no content: a question made only of these plus unknown words is asking
#: about something we do not know (an unknown metric), or about something else entirely.
_STOPWORD_TEXT = """
    a about after again all also am an and any are as at be been before being between both but
    by can could d did do does doing done during each every for from he her here hers him his
    how i if im in into is it its just let lets ll m me mine more my myself no nor now of off
    on once only or other our ours out over own re s same she should so some such t than that
    the their them then there these they this those through to too under until up us ve very
    was we were what whats when where which while who whom why will with would you your yours
    please pls hey hi hello thank thanks ok okay quick quickly really right exactly roughly
    approx approximately currently actually basically something anything everything whole
    entire gimme wanna gonna
    show tell give get got see look like know display view pull report fetch find check want
    wanted need
    total overall number much many versus vs compare compared comparing across per split
    breakdown broken down data figure figures value values amount rate ratio table chart graph
    plot list lists name names title
    account accounts store stores shop business company ads ad campaigns campaign sets set
    level levels platforms platform channel channels
    last previous prior past current day days week weeks month months year years quarter
    quarters period periods time times ago since till today yesterday date dates range ranges
    far running active paused live enabled disabled new different individual separate specific
    various top bottom
"""
STOPWORDS: frozenset[str] = frozenset(_STOPWORD_TEXT.split())

#: Words that carry no qualifier in a metric question ("which campaign *drove* the most
#: revenue", "how does it *stack up*"). Any other unknown word next to a metric is asked about:
#: nothing the merchant wrote is silently dropped.
_FILLER_TEXT = """
    had have has having got gotten getting make made making makes earn earned earning earns
    bring brought bringing drive drove driven driving drives generate generated generating
    generates produce produced deliver delivered return returned returning bring use used
    using uses via stack stacking stacks compare compares look looks looking looked go goes
    going went gone come came coming do done doing did does been be being was were is are
    summarise summarize summary people person folks guys instead ones one average avg count
    counts counted break breaking broke p ps please thanks kindly hey so well then again also
    still yet even maybe perhaps probably just exactly roughly about around approximately
    up down out into onto within per vs versus tell show give list pull report fetch find
    total totals overall hows whats wheres whens whos whys lets let us we our ours my mine me
    i you your they them their it its this that these those there here when where who whom
    how why what which much many more most less least few lot lots bit amount amounts number
    numbers figure figures stat stats value values level levels data info information
    attributed reported tracked recorded shown real actual actually currently current latest
    recent recently new now today so far since ago far total waste wasted wasting wasteful
    money cash dollars bucks spending btw fyi ps nb oh anyway budget budgets giving gives
    workspace
    basis
"""
FILLER: frozenset[str] = frozenset(_FILLER_TEXT.split())

#: Ordinary English words merchants type around a metric question ("did we *issue*", "*side*
#: by side", "the same *stretch*"), and what they need the number for ("for the
#: *reconciliation*", "for the *board* deck"). Lowercase and away from a name position (see
#: offline._names_something) they are filler; a capitalised or quoted word, or one next to
#: campaign/ad/named, is still asked about.
_COMMON_TEXT = """
    a an the and or but nor if than as at by to of off over under with without w before after
    during while between among against toward towards across along through throughout upon
    issue issued issuing pay paid paying spent sell sold selling buy bought buying send sent
    get gets take took taken taking give gave given put see saw seen seeing know knew known
    think thought want wanted need needed try tried keep kept start started stop stopped run
    ran switch switched change changed changes turn turned set divide divided divided split
    splitting share shared comparison comparisons side sides
    stretch stretches span period periods window chunk part parts piece portion bit same
    similar equivalent like alike matching match matched corresponding together each both
    either neither other others another else whole full entire rest remaining quick quickly
    briefly real really pretty quite rather very too enough basically literally honestly
    seriously ok okay yes no yeah yep nope sure cool great nice hmm um uh ah wow lol hi
    happen happened happening happens move moved moving grow grew grown growing climb climbed
    drop dropped fall fell fallen rise rose risen jump jumped dip dipped slip slipped land
    landed end ended ending finish finished close closed hit hits reach reached beat beaten
    lose lost win won feel felt seem seemed appear appeared mean meant means say said ask
    asked answer check checked see view display breakdown rundown recap overview snapshot
    update status picture story result results outcome outcomes performance perform performed
    performing doing fare fared faring shape trending trend side-by-side vs vs. please thank
    ignore ignored instead rather whatever anything something everything nothing thing things
    stuff way ways kind sort type types time times day-to-day overall altogether combined
    again back ago already almost nearly just only even ever never always often sometimes
    usually first second third last next previous prior earlier later recent better worse
    reconciliation reconciliations reconcile reconciling bookkeeping books accounting accounts
    accountant accountants bookkeeper audit audits auditor auditors tax taxes filing records
    close month-end year-end quarter-end eom eoq eoy eod eow board investor investors meeting
    meetings deck decks slides presentation standup review reviews boss team manager cfo ceo
    founder partner partners client clients agency newsletter email memo notes planning
"""
COMMON_WORDS: frozenset[str] = frozenset(_COMMON_TEXT.split())

#: Greetings and requests for help: the copilot answers them with examples (clarify).
GREETINGS: frozenset[str] = frozenset(
    {
        "hi",
        "hello",
        "hey",
        "help",
        "yo",
        "hiya",
        "howdy",
        "thanks",
        "thank",
        "morning",
        "afternoon",
        "evening",
        "start",
        "examples",
        "example",
    }
)

EXAMPLE_QUESTIONS: tuple[str, ...] = (
    "What was my ROAS last week?",
    "Spend and revenue by day this month",
    "Top 5 campaigns by spend yesterday vs the previous period",
    "CPA on Meta vs Google last month",
)

#: Number words for "top three ads".
_NUMBER_TEXT = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen twenty"
)
NUMBER_WORDS: Mapping[str, int] = {word: n for n, word in enumerate(_NUMBER_TEXT.split())} | {
    "thirty": 30,
    "fifty": 50,
    "hundred": 100,
    "dozen": 12,
}


# --- the phrase table ----------------------------------------------------------------------------


def _plural(word: str) -> str:
    return word if word.endswith("s") else word + "s"


def _entries(
    kind: str, table: Mapping[str, Iterable[str]], plurals: bool = False
) -> dict[tuple[str, ...], tuple[str, str]]:
    out: dict[tuple[str, ...], tuple[str, str]] = {}
    for value, phrases in table.items():
        for phrase in phrases:
            forms = {phrase, _plural(phrase)} if plurals else {phrase}
            for form in forms:
                out[tuple(form.split())] = (kind, value)
    return out


def build_phrases() -> dict[tuple[str, ...], tuple[str, str]]:
    """Every phrase the parser recognises, as token tuple -> (kind, value).

    Kinds: metric, unsupported_metric, dimension, unsupported_dimension, grain, provider, rank,
    model, mode, email (a word of the email platforms), creative_format and the marker kinds
    of _MARKERS.
    Earlier tables lose to later ones on a clash, so the specific (metrics) are added last.
    """
    table: dict[tuple[str, ...], tuple[str, str]] = {}
    for kind, words in _MARKERS.items():
        table |= _entries(kind, {kind: words})
    table |= _entries("dimension", _DIMENSION_WORDS, plurals=True)
    table |= {(w,): ("unsupported_dimension", w) for w in UNSUPPORTED_DIMENSIONS}
    table |= {(w,): ("unsupported_provider", w) for w in UNSUPPORTED_PROVIDERS}
    table |= _entries("grain", _GRAIN_WORDS)
    table |= _entries("provider", _PROVIDER_WORDS)
    table |= _entries("rank", _RANK_WORDS)
    table |= _entries("model", _MODEL_WORDS)
    table |= _entries(
        "model",
        {
            model: [f"{w} {tail}" for w in words for tail in _MODEL_TAILS]
            for model, words in _MODEL_WORDS.items()
        },
    )
    table |= {
        tuple(f"{w} {tail}".split()): ("unsupported_model", w)
        for w in UNSUPPORTED_MODELS
        for tail in ("", *_MODEL_TAILS)
    }
    table |= _entries("mode", _MODE_WORDS)
    table |= _entries("email", {"email": EMAIL_WORDS})
    table |= _entries("creative_format", _CREATIVE_FORMAT_WORDS)
    table |= {tuple(w.split()): ("unsupported_metric", w) for w in UNSUPPORTED_METRICS}
    table |= _entries("metric", _METRIC_WORDS)
    return table


PHRASES: Mapping[tuple[str, ...], tuple[str, str]] = build_phrases()
LONGEST_PHRASE: int = max(len(p) for p in PHRASES)
