"""An independent, in-memory model of the back office's engines, and recounts from the database.

The model replays sign-ups, leg changes and purchases with the contract's rules written out
plainly (breadth-first matrix, outer or breadth-first binary spillover, the plan table of §6);
the checks recount every aggregate from the adjacency lists and compare.
"""

from __future__ import annotations

from collections import Counter, defaultdict, deque
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from understudy.backoffice import wallets
from understudy.backoffice.models import (
    BinaryNode,
    MatrixCommission,
    MatrixNode,
    Member,
    Purchase,
    SponsorClosure,
    WalletEntry,
)

SIDES = ("left", "right")
LIFETIME, CREDIT, COMMISSIONS = 1, 3, 5


@dataclass(frozen=True)
class Rules:
    """One plan's rules as the contract's table states them (money in cents, rates in %)."""

    price: int
    bv: int
    direct: int = 0
    unilevel: tuple[int, ...] = ()
    matrix: tuple[int, ...] = ()
    directs_needed: int = 0


PLANS = {
    "Free Plan": Rules(price=0, bv=0),
    "Entrepreneur": Rules(
        price=5000, bv=5000, direct=10, unilevel=(5, 3, 2), matrix=(5, 5, 5), directs_needed=2
    ),
}
UNILEVEL_LEVELS = 3
MATRIX_LEVELS = 3


@dataclass
class Model:
    """The organisation as the contract says it should be after the same operations."""

    width: int = 3
    spillover: str = "outer"
    measure: str = "count"
    names: dict[int, str] = field(default_factory=dict)
    sponsor: dict[int, int | None] = field(default_factory=dict)
    leg: dict[int, str] = field(default_factory=dict)
    plan: dict[int, str] = field(default_factory=dict)
    paid: set[int] = field(default_factory=set)
    active: Counter[int] = field(default_factory=Counter)
    matrix: dict[int, tuple[int | None, int | None]] = field(default_factory=dict)
    matrix_kids: dict[int, list[int]] = field(default_factory=lambda: defaultdict(list))
    binary: dict[int, tuple[int | None, str | None]] = field(default_factory=dict)
    binary_kid: dict[tuple[int, str], int] = field(default_factory=dict)
    bv: Counter[int] = field(default_factory=Counter)
    wallet: Counter[tuple[int, int]] = field(default_factory=Counter)
    commissions: Counter[tuple[int, int, str]] = field(default_factory=Counter)
    held: dict[int, list[tuple[int, str]]] = field(default_factory=lambda: defaultdict(list))

    def fund(self, member_id: int, amount: int) -> None:
        """An operator credit to the member's purchase wallet."""
        self.wallet[(member_id, CREDIT)] += amount

    def root(self, member_id: int, name: str) -> None:
        """The root member: no sponsor, alone in both trees, on the Free Plan."""
        self.names[member_id], self.sponsor[member_id] = name, None
        self.leg[member_id] = "left"
        self.matrix[member_id] = (None, None)
        self.binary[member_id] = (None, None)
        self.plan[member_id] = "Free Plan"

    def signup(self, member_id: int, name: str, sponsor: int, plan: str) -> None:
        """A sign-up: both placements, then the plan bought by the sponsor."""
        self.names[member_id], self.sponsor[member_id] = name, sponsor
        self.leg[member_id] = "left"
        self._place_binary(member_id, sponsor)
        self._place_matrix(member_id, sponsor)
        self.buy(member_id, plan)

    def _place_matrix(self, member_id: int, sponsor: int) -> None:
        queue = deque([sponsor])
        while queue:
            node = queue.popleft()
            kids = self.matrix_kids[node]
            if len(kids) < self.width:
                self.matrix[member_id] = (node, len(kids))
                kids.append(member_id)
                return
            queue.extend(kids)

    def subtree(self, node: int) -> list[int]:
        """Every binary descendant of a node, the node included."""
        found, stack = [], [node]
        while stack:
            current = stack.pop()
            found.append(current)
            stack.extend(k for s in SIDES if (k := self.binary_kid.get((current, s))) is not None)
        return found

    def leg_measure(self, node: int, side: str) -> int:
        """Members (or volume) in one leg of a node."""
        top = self.binary_kid.get((node, side))
        if top is None:
            return 0
        members = self.subtree(top)
        return len(members) if self.measure == "count" else sum(self.bv[m] for m in members)

    def _place_binary(self, member_id: int, sponsor: int) -> None:
        leg = self.leg[sponsor]
        if leg == "balanced":
            left, right = self.leg_measure(sponsor, "left"), self.leg_measure(sponsor, "right")
            leg = "right" if right < left else "left"
        parent, position = sponsor, leg
        if self.spillover == "outer":
            while (parent, leg) in self.binary_kid:
                parent = self.binary_kid[(parent, leg)]
        elif (sponsor, leg) in self.binary_kid:
            queue = deque([self.binary_kid[(sponsor, leg)]])
            while queue:
                node = queue.popleft()
                free = [
                    s
                    for s in (leg, *[x for x in SIDES if x != leg])
                    if (node, s) not in self.binary_kid
                ]
                if free:
                    parent, position = node, free[0]
                    break
                queue.extend(self.binary_kid[(node, s)] for s in SIDES)
        self.binary[member_id] = (parent, position)
        self.binary_kid[(parent, position)] = member_id

    def _pay(self, earner: int, amount: int, description: str) -> None:
        if amount <= 0:
            return
        self.wallet[(earner, COMMISSIONS)] += amount
        self.wallet[(earner, LIFETIME)] += amount
        self.commissions[(earner, amount, description)] += 1

    def _rules(self, member_id: int) -> Rules:
        return PLANS[self.plan[member_id]]

    def buy(self, member_id: int, plan: str) -> None:
        """A purchase: the sponsor pays, bonuses flow up both trees."""
        rules, sponsor, name = PLANS[plan], self.sponsor[member_id], self.names[member_id]
        if sponsor is not None:
            self.wallet[(sponsor, CREDIT)] -= rules.price
        self.plan[member_id] = plan
        self.bv[member_id] += rules.bv
        if rules.price > 0 and member_id not in self.paid:
            self.paid.add(member_id)
            if sponsor is not None:
                self.active[sponsor] += 1
                self._release(sponsor)
        if rules.price <= 0:
            return
        if sponsor is not None:
            direct = rules.price * self._rules(sponsor).direct // 100
            self._pay(sponsor, direct, f"Direct Bonus - {name}")
        up, level = sponsor, 1
        while up is not None and level <= UNILEVEL_LEVELS:
            rates = self._rules(up).unilevel
            rate = rates[level - 1] if level <= len(rates) else 0
            self._pay(up, rules.price * rate // 100, f"Unilevel Bonus Level {level} - {name}")
            up, level = self.sponsor[up], level + 1
        up, level = self.matrix[member_id][0], 1
        while up is not None and level <= MATRIX_LEVELS:
            earner = self._rules(up)
            if level <= len(earner.matrix):
                amount = rules.price * earner.matrix[level - 1] // 100
                text = f"Matrix Bonus Level {level} - {name}"
                if self.active[up] >= earner.directs_needed:
                    self._pay(up, amount, text)
                elif amount > 0:
                    self.held[up].append((amount, text))
            up, level = self.matrix[up][0], level + 1

    def _release(self, earner: int) -> None:
        rules = self._rules(earner)
        if rules.matrix and self.active[earner] >= rules.directs_needed:
            for amount, text in self.held.pop(earner, []):
                self._pay(earner, amount, text)


# --- checks against the database ----------------------------------------------------------------


def check_trees(session: Session, model: Model) -> None:
    """Both trees equal the model's, slot by slot, with every member placed exactly once."""
    matrix = {n.user_id: (n.parent_id, n.slot) for n in session.scalars(select(MatrixNode))}
    assert matrix == model.matrix
    binary = {n.user_id: (n.parent_id, n.position) for n in session.scalars(select(BinaryNode))}
    assert binary == model.binary


def check_aggregates(session: Session, model: Model) -> None:
    """Every stored aggregate equals a recount from the adjacency lists."""
    members = {m.id: m for m in session.scalars(select(Member))}
    purchases = session.scalars(select(Purchase)).all()
    bv: Counter[int] = Counter()
    active: set[int] = set()
    for bought in purchases:
        bv[bought.user_id] += bought.bv
        if bought.price > 0:
            active.add(bought.user_id)
    nodes = {n.user_id: n for n in session.scalars(select(BinaryNode))}
    kids: dict[tuple[int, str], int] = {
        (n.parent_id, n.position): n.user_id
        for n in nodes.values()
        if n.parent_id is not None and n.position is not None
    }

    def below(top: int | None) -> list[int]:
        found, stack = [], [top] if top is not None else []
        while stack:
            current = stack.pop()
            found.append(current)
            stack.extend(k for s in SIDES if (k := kids.get((current, s))) is not None)
        return found

    for user_id, node in nodes.items():
        for side in SIDES:
            leg = below(kids.get((user_id, side)))
            assert getattr(node, f"{side}_count") == len(leg), (user_id, side)
            assert getattr(node, f"vol_new_{side}") == sum(bv[m] for m in leg), (user_id, side)
            directs = sum(
                1
                for m in members.values()
                if m.sponsor_id == user_id and m.id in active and nodes[m.id].sponsor_side == side
            )
            assert getattr(node, f"active_directs_{side}") == directs, (user_id, side)
    for member in members.values():
        directs = [m for m in members.values() if m.sponsor_id == member.id]
        assert member.direct_count == len(directs)
        assert member.active_direct_count == sum(1 for m in directs if m.id in active)
    closure = {
        (c.ancestor_id, c.descendant_id, c.depth) for c in session.scalars(select(SponsorClosure))
    }
    expected = set()
    for member in members.values():
        up: int | None = member.id
        depth = 0
        while up is not None:
            expected.add((up, member.id, depth))
            up, depth = members[up].sponsor_id, depth + 1
    assert closure == expected
    matrix = {n.user_id: n for n in session.scalars(select(MatrixNode))}
    children: dict[int, list[int]] = defaultdict(list)
    for node in matrix.values():
        if node.parent_id is not None:
            children[node.parent_id].append(node.user_id)

    def open_level(user_id: int) -> int:
        below_ids = children[user_id]
        if len(below_ids) < model.width:
            return 0
        return 1 + min(open_level(k) for k in below_ids)

    for user_id, node in matrix.items():
        assert node.open_level == open_level(user_id), user_id


def check_wallets(session: Session, model: Model) -> None:
    """Running balances add up, match the ledger and the model; commissions match the model."""
    rows: dict[tuple[int, int], list[WalletEntry]] = defaultdict(list)
    for entry in session.scalars(select(WalletEntry).order_by(WalletEntry.id)):
        rows[(entry.user_id, entry.wallet_id)].append(entry)
    for (user_id, wallet_id), entries in rows.items():
        running = 0
        for entry in entries:
            running += entry.amount
            assert entry.balance == running >= 0
        assert wallets.balance(session, user_id=user_id, wallet_id=wallet_id) == running
    totals = {key: sum(e.amount for e in entries) for key, entries in rows.items()}
    assert {k: v for k, v in totals.items() if v} == {k: v for k, v in model.wallet.items() if v}
    paid = Counter(
        (e.user_id, e.amount, e.description)
        for (_, w), es in rows.items()
        if w == COMMISSIONS
        for e in es
    )
    assert paid == model.commissions
    lifetime = Counter(
        (e.user_id, e.amount, e.description)
        for (_, w), es in rows.items()
        if w == LIFETIME
        for e in es
    )
    assert lifetime == model.commissions
    held = Counter(
        (c.earner_id, c.amount, c.description)
        for c in session.scalars(select(MatrixCommission).where(MatrixCommission.status == "held"))
    )
    assert held == Counter((e, a, t) for e, items in model.held.items() for a, t in items)
