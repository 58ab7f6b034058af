// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title Escrow
/// @notice The smallest escrow the chain pack's tests and demo need: an owner who can
/// pause it, payable deposits, and releases that revert for real (so failed
/// transactions with a status-0 receipt can be made on a local node).
contract Escrow {
    address public owner;
    bool public paused;

    event Deposited(address indexed from, uint256 amount);
    event Released(address indexed to, uint256 amount);
    event Paused(address by);
    event Unpaused(address by);

    error NotOwner(address caller);
    error ContractPaused();
    error InsufficientBalance(uint256 requested, uint256 available);
    error TransferFailed(address to, uint256 amount);

    constructor() {
        owner = msg.sender;
    }

    modifier onlyOwner() {
        if (msg.sender != owner) revert NotOwner(msg.sender);
        _;
    }

    modifier whenNotPaused() {
        if (paused) revert ContractPaused();
        _;
    }

    /// @notice Locks native currency in the escrow.
    function deposit() external payable whenNotPaused {
        emit Deposited(msg.sender, msg.value);
    }

    /// @notice Pays `amount` out to `to`; reverts when paused, not the owner, or short of funds.
    function release(address payable to, uint256 amount) external onlyOwner whenNotPaused {
        uint256 available = address(this).balance;
        if (amount > available) revert InsufficientBalance(amount, available);
        (bool ok,) = to.call{value: amount}("");
        if (!ok) revert TransferFailed(to, amount);
        emit Released(to, amount);
    }

    function pause() external onlyOwner {
        paused = true;
        emit Paused(msg.sender);
    }

    function unpause() external onlyOwner {
        paused = false;
        emit Unpaused(msg.sender);
    }
}
