# pragma version 0.4.3
# pragma evm-version shanghai
# @license MIT
"""
@title ONE creator token
@notice A minimal ERC-20 with 0 decimals: one unit is one token. The account that deploys it
        (the bot) is its owner, the only one who may mint, and who may burn from any holder:
        tokens are held in custodial wallets, and a refunded purchase is clawed back.
        Every mint and burn carries a reference (the keccak256 of the bot's text for it, such
        as "purchase:17") that is recorded in `applied`: a second mint or burn with the same
        reference reverts, so the bot can repeat a step it is unsure about without minting or
        burning twice.
@dev Compiled for "shanghai" (no MCOPY) so that it also runs on older nodes. After editing,
     run `python contracts/build.py` to refresh adapters/chain/creator_token.json.
"""

from ethereum.ercs import IERC20
from ethereum.ercs import IERC20Detailed

implements: IERC20
implements: IERC20Detailed


event Transfer:
    sender: indexed(address)
    receiver: indexed(address)
    value: uint256


event Approval:
    owner: indexed(address)
    spender: indexed(address)
    value: uint256


name: public(String[128])
symbol: public(String[32])
decimals: public(constant(uint8)) = 0
totalSupply: public(uint256)
balanceOf: public(HashMap[address, uint256])
allowance: public(HashMap[address, HashMap[address, uint256]])
owner: public(address)
# The references of the mints and burns done so far (one set for both).
applied: public(HashMap[bytes32, bool])
voided: public(HashMap[bytes32, bool])


@deploy
def __init__(name_: String[128], symbol_: String[32]):
    self.name = name_
    self.symbol = symbol_
    self.owner = msg.sender


@external
def transfer(receiver: address, amount: uint256) -> bool:
    self._transfer(msg.sender, receiver, amount)
    return True


@external
def transferFrom(sender: address, receiver: address, amount: uint256) -> bool:
    allowed: uint256 = self.allowance[sender][msg.sender]
    assert allowed >= amount, "allowance too small"
    if allowed != max_value(uint256):
        self.allowance[sender][msg.sender] = allowed - amount
    self._transfer(sender, receiver, amount)
    return True


@external
def approve(spender: address, amount: uint256) -> bool:
    self.allowance[msg.sender][spender] = amount
    log Approval(owner=msg.sender, spender=spender, value=amount)
    return True


@external
def mint(to: address, amount: uint256, ref: bytes32):
    assert msg.sender == self.owner, "only the owner may mint"
    self._apply(ref)
    assert to != empty(address), "mint to the zero address"
    self.totalSupply += amount
    self.balanceOf[to] += amount
    log Transfer(sender=empty(address), receiver=to, value=amount)


@external
def void(ref: bytes32):
    """
    @notice Use a reference up without minting or burning: before the bot refunds a purchase
            whose mint's outcome it does not know, so that such a mint, still queued, reverts.
            Reverts itself if the reference was applied (the mint landed: credit, not refund);
            voiding twice is fine. Kept apart from `applied`, so a voided reference never
            reads as minted.
    """
    assert msg.sender == self.owner, "only the owner may void"
    assert not self.applied[ref], "reference already applied"
    self.voided[ref] = True


@external
def burn(holder: address, amount: uint256, ref: bytes32):
    assert msg.sender == self.owner, "only the owner may burn"
    self._apply(ref)
    held: uint256 = self.balanceOf[holder]
    assert held >= amount, "burn exceeds balance"
    self.balanceOf[holder] = held - amount
    self.totalSupply -= amount
    log Transfer(sender=holder, receiver=empty(address), value=amount)


@internal
def _transfer(sender: address, receiver: address, amount: uint256):
    assert receiver != empty(address), "transfer to the zero address"
    held: uint256 = self.balanceOf[sender]
    assert held >= amount, "transfer exceeds balance"
    self.balanceOf[sender] = held - amount
    self.balanceOf[receiver] += amount
    log Transfer(sender=sender, receiver=receiver, value=amount)


@internal
def _apply(ref: bytes32):
    assert not self.voided[ref], "reference voided"
    assert not self.applied[ref], "reference already applied"
    self.applied[ref] = True
