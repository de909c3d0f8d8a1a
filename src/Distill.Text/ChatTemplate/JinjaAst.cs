namespace Distill.Text.ChatTemplate;

// The Jinja subset used by Hugging Face chat templates (Llama-3, Qwen2/ChatML/Qwen3, Mistral,
// Phi-3, Zephyr). Statement nodes and expression nodes; JinjaParser builds them, JinjaInterpreter runs them.

abstract record Node;
sealed record TextNode(string Text) : Node;
sealed record OutputNode(Expr Value) : Node;
sealed record IfNode(List<(Expr Test, List<Node> Body)> Branches, List<Node>? Else) : Node;
sealed record ForNode(string[] Targets, Expr Iterable, Expr? Filter, List<Node> Body, List<Node>? Else) : Node;
sealed record SetNode(string Name, string? Attribute, Expr Value) : Node;

abstract record Expr;
sealed record LiteralExpr(object? Value) : Expr;
sealed record NameExpr(string Name) : Expr;
sealed record AttrExpr(Expr Target, string Name) : Expr;
sealed record ItemExpr(Expr Target, Expr Index) : Expr;
sealed record SliceExpr(Expr Target, Expr? Start, Expr? Stop, Expr? Step) : Expr;
sealed record CallExpr(Expr Callee, List<Expr> Args, List<(string Name, Expr Value)> Kwargs) : Expr;
sealed record FilterExpr(Expr Value, string Name, List<Expr> Args, List<(string Name, Expr Value)> Kwargs) : Expr;
sealed record TestExpr(Expr Value, string Name, List<Expr> Args, bool Negated) : Expr;
sealed record UnaryExpr(string Op, Expr Operand) : Expr;
sealed record BinaryExpr(string Op, Expr Left, Expr Right) : Expr;
sealed record CondExpr(Expr Test, Expr Then, Expr? Else) : Expr;
sealed record ListExpr(List<Expr> Items) : Expr;
sealed record DictExpr(List<(Expr Key, Expr Value)> Items) : Expr;

/// <summary>A template that is malformed or uses a construct outside the supported subset; the message names it.</summary>
public sealed class ChatTemplateException(string message) : Exception(message);
