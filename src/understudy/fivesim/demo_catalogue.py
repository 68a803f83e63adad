"""The `serve --demo` catalogue, derived from compact tables: real operators per country, real
product names, deterministic plausible prices and stock owned by one demo vendor.

Sizes come from settings (`UNDERSTUDY_FIVESIM_DEMO_COUNTRIES`, `_PRODUCTS`, `_OPERATORS`,
`_NUMBERS`), so the same code also builds the large catalogue the prices benchmark needs.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from understudy.fivesim import catalogue, stock, versions
from understudy.fivesim.countries import COUNTRIES
from understudy.fivesim.models import Number, Operator, Price, Product


def _words(text: str) -> list[str]:
    """The whitespace-separated words of a table."""
    return text.split()


# Mobile operators as 5sim names them, for the countries a demo shows first.
OPERATORS: dict[str, str] = {
    "russia": "beeline megafon mts tele2 rostelecom yota matrix",
    "ukraine": "kyivstar lifecell vodafone",
    "kazakhstan": "activ altel beeline kcell tele2",
    "england": "ee lycamobile o2 three vodafone giffgaff",
    "usa": "att tmobile verizon",
    "germany": "lebara o2 telekom vodafone",
    "france": "bouygues free orange sfr",
    "spain": "movistar orange vodafone yoigo",
    "italy": "iliad tim vodafone windtre",
    "netherlands": "kpn lebara lycamobile vodafone",
    "poland": "orange play plus tmobile",
    "portugal": "meo nos vodafone",
    "romania": "digi orange telekom vodafone",
    "czech": "o2 tmobile vodafone",
    "sweden": "comviq tele2 telia three",
    "finland": "dna elisa telia",
    "estonia": "elisa tele2 telia",
    "latvia": "bite lmt tele2",
    "lithuania": "bite pildyk tele2 telia",
    "india": "airtel jio vodafone",
    "indonesia": "axis indosat smartfren telkomsel three",
    "philippines": "globe smart sun tnt",
    "vietnam": "mobifone vietnamobile viettel vinaphone",
    "thailand": "ais dtac truemove",
    "malaysia": "celcom digi maxis umobile",
    "china": "chinamobile chinatelecom chinaunicom",
    "hongkong": "csl smartone three",
    "brazil": "claro oi tim vivo",
    "mexico": "att movistar telcel",
    "argentina": "claro movistar personal",
    "colombia": "claro movistar tigo",
    "chile": "claro entel movistar wom",
    "peru": "bitel claro entel movistar",
    "nigeria": "airtel glo mtn ninemobile",
    "kenya": "airtel safaricom telkom",
    "egypt": "etisalat orange vodafone we",
    "southafrica": "cellc mtn telkom vodacom",
    "turkey": "turkcell turktelekom vodafone",
    "israel": "019 cellcom hotmobile partner pelephone",
    "georgia": "beeline geocell magticom",
    "armenia": "beeline ucom vivacell",
    "azerbaijan": "azercell bakcell nar",
    "uzbekistan": "beeline mobiuz ucell uzmobile",
    "kyrgyzstan": "beeline megacom o",
    "moldova": "moldcell orange unite",
    "canada": "bell fido rogers telus",
    "australia": "optus telstra vodafone",
    "japan": "docomo kddi softbank",
}
# Virtual operators (5sim's name for numbers without a named carrier) fill the other countries.
VIRTUAL = _words("virtual4 virtual18 virtual21 virtual23 virtual34 virtual38 virtual47 virtual52")
# Products as 5sim names them, most requested first.
PRODUCTS = _words(
    """
telegram whatsapp vkontakte google facebook instagram twitter tiktok viber wechat ok mailru
yandex avito microsoft apple amazon discord netflix uber olx steam tinder line kakaotalk
signal snapchat linkedin paypal airbnb ebay alibaba aliexpress taobao shopee lazada grab
gojek tokopedia bukalapak ozon wildberries sbermarket samokat kufar youla drom cian hh
dodopizza delivery yandexeda glovo deliveroo foodpanda swiggy zomato bolt lyft didi
blablacar careem indriver citymobil gett yango tencent qq weibo douyin kuaishou bilibili
baidu naver coupang zalo momo gcash paymaya dana ovo truemoney payoneer skrill neteller
revolut wise monzo n26 bunq cashapp venmo zelle chime coinbase binance bybit okx kucoin
huobi bitget gateio kraken bitfinex blockchain crypto metamask yahoo protonmail outlook gmx
aol zoho icloud tutanota hotmail rambler qiwi webmoney yoomoney tinkoff sberbank vtb
alfabank raiffeisen gazprombank pochtabank halykbank kaspi privatbank monobank oschadbank
rozetka prom nova epicentr citrus allo foxtrot moyo eldorado mvideo dns citilink lamoda
sportmaster detskymir lenta magnit perekrestok auchan metro okey spar vkusvill pyaterochka
lavka utkonos ivi okko kinopoisk wink start premier megogo sweettv moretv zvuk spotify
deezer youtube twitch kick trovo rumble vimeo dailymotion pinterest reddit quora tumblr
badoo bumble hinge happn mamba loveru teamo fotostrana drugvokrug meetme tantan soul
hellotalk tandem duolingo busuu preply italki cambly skyeng uchi foxford stepik coursera
udemy edx skillbox netology geekbrains yandexpraktikum chatgpt openai claude perplexity
gemini copilot jasper notion slack zoom teams skype webex meet whereby trello asana jira
confluence miro figma canva adobe dropbox box mega pcloud yandexdisk terabox blizzard
battlenet epicgames origin ubisoft riot valorant pubg freefire roblox minecraft fortnite
supercell mihoyo genshin nexon garena wargaming lesta playstation xbox nintendo gameflip g2a
kinguin eneba funpay plati starvest hepsiburada trendyol getir yemeksepeti sahibinden letgo
jumia konga takealot noon talabat souq dubizzle mercado mercadolibre rappi ifood picpay
nubank pix magalu americanas casasbahia shein temu wish joom vinted depop poshmark etsy
craigslist offerup gumtree leboncoin subito wallapop milanuncios marktplaats allegro olxpl
otomoto idealo zalando otto ikea
"""
)
HOSTING_COUNTRIES = ("russia", "england", "usa", "germany", "netherlands")
HOSTING_PRICES = {"3hours": 3000, "1day": 8000, "10days": 45000, "1month": 120000}


@dataclass(frozen=True)
class Size:
    """How big a demo catalogue to build."""

    countries: int = 40
    products: int = 250
    operators: int = 0  # 0: each country's real operators; N: exactly N, padded with virtual
    numbers: int = 30  # at most this many numbers per operator


def _hash(*parts: str) -> int:
    digest = hashlib.blake2b(":".join(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def countries(size: Size) -> list[tuple[str, str, list[str]]]:
    """(name, phone prefix, operators) of the demo countries, named operators first."""
    known = {name: prefix for name, _, prefix, _, _ in COUNTRIES}
    ordered = [n for n in OPERATORS if n in known]
    ordered += [n for n, *_ in COUNTRIES if n not in OPERATORS]
    chosen = []
    for name in ordered[: size.countries]:
        operators = OPERATORS.get(name, "").split()
        if size.operators:
            pool = operators + [v for v in VIRTUAL if v not in operators]
            operators = pool[: size.operators]
        chosen.append((name, known[name], operators or VIRTUAL[:2]))
    return chosen


def products(size: Size) -> list[str]:
    """The demo's activation products; beyond the table, numbered services."""
    names = list(dict.fromkeys(PRODUCTS))[: size.products]
    names += [f"service{i}" for i in range(len(names) + 1, size.products + 1)]
    return names


@lru_cache(maxsize=4096)
def _weight(*parts: str) -> int:
    return _hash(*parts)


def price(country_rank: int, product_rank: int, country: str, operator: str, product: str) -> int:
    """A plausible price in kopecks: popular products and rich countries cost more."""
    base = 300 + _weight("p", product) % 1200 + max(0, 40 - product_rank) * 30
    factor = 50 + _weight("c", country) % 100 + (50 if country_rank < 10 else 0)  # percent
    jitter = 90 + (_weight(country, operator) + product_rank * 7919) % 35  # percent
    return max(100, base * factor * jitter // 10_000)


def load(session: Session, *, vendor_id: int, size: Size, now: datetime) -> int:
    """Insert the demo catalogue (idempotent per offer and number); returns numbers added."""
    chosen = countries(size)
    names = products(size)
    known_products = set(session.scalars(select(Product.name)).all())
    new_products = [n for n in names if n not in known_products]
    if new_products:
        session.execute(
            insert(Product), [{"name": n, "category": "activation"} for n in new_products]
        )
    known_operators = {(c, n) for c, n in session.execute(select(Operator.country, Operator.name))}
    known_prices = {
        (c, o, p)
        for c, o, p in session.execute(select(Price.country, Price.operator, Price.product))
    }
    phones = set(session.scalars(select(Number.phone)).all())
    operators, prices, numbers = [], [], []
    for rank, (country, prefix, carriers) in enumerate(chosen):
        for index, operator in enumerate(carriers):
            if (country, operator) not in known_operators:
                operators.append({"country": country, "name": operator})
            offered = [(p, r) for r, p in enumerate(names)]
            if country in HOSTING_COUNTRIES and index == 0:
                offered += [(h, -1) for h in HOSTING_PRICES]
            for product, product_rank in offered:
                if (country, operator, product) in known_prices:
                    continue
                cost = (
                    HOSTING_PRICES[product]
                    if product_rank < 0
                    else price(rank, product_rank, country, operator, product)
                )
                prices.append(
                    {"country": country, "operator": operator, "product": product, "price": cost}
                )
            supply = 5 + _hash("n", country, operator) % max(1, size.numbers - 4)
            for n in range(min(supply, size.numbers)):
                phone = f"{prefix}5{rank:03d}{index:02d}{n:04d}"
                if phone not in phones:
                    phones.add(phone)
                    numbers.append(
                        {
                            "vendor_id": vendor_id,
                            "phone": phone,
                            "country": country,
                            "operator": operator,
                            "created_at": now,
                        }
                    )
    for table, rows in ((Operator, operators), (Price, prices), (Number, numbers)):
        for start in range(0, len(rows), 5000):
            session.execute(insert(table), rows[start : start + 5000])
    stock.added(session, [(n["country"], n["operator"]) for n in numbers])
    catalogue.seed(session)
    versions.touch(session)
    session.flush()
    return len(numbers)
