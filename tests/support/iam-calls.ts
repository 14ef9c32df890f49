/**
 * The IAM calls each central function makes in a member account, derived from the code rather than listed:
 * a call graph over the classes that reach IAM there, read with the TypeScript compiler.
 *
 * - `AwsIamGateway` (src/adapters/iam-gateway.ts): each method's `new XCommand(` and the methods it calls;
 * - `QuarantineService` (src/services/quarantine-service.ts): each method's `this.iam.m(` gateway calls and
 *   its `this.m(` calls;
 * - `ApprovalWorkflow` (src/services/approval-workflow.ts): from a function's entry method (`analyse`,
 *   `restore`) through its `this.m(` calls, every call of a `QuarantineService` public method (the only
 *   way the workflow reaches IAM in an account: `quarantineFor`);
 * - the sweep reaches a member account only through `IamInventorySource` (src/adapters/iam-inventory.ts):
 *   every command it sends.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';

const ROOT = join(__dirname, '..', '..');

interface MethodFacts {
  /** `this.name(` calls. */
  readonly own: Set<string>;
  /** `this.<field>.name(` calls, per field. */
  readonly fields: Map<string, Set<string>>;
  /** `.name(` calls on anything (the receiver's type is not resolved). */
  readonly any: Set<string>;
  /** `new XCommand(`: X. */
  readonly commands: Set<string>;
  readonly isPublic: boolean;
}

function classMethods(file: string, className: string): Map<string, MethodFacts> {
  const text = readFileSync(join(ROOT, file), 'utf8');
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true);
  const found = source.statements.find(
    (statement): statement is ts.ClassDeclaration =>
      ts.isClassDeclaration(statement) && statement.name?.text === className,
  );
  if (!found) throw new Error(`${file}: no class ${className}`);
  const methods = new Map<string, MethodFacts>();
  for (const member of found.members) {
    if (!ts.isMethodDeclaration(member) || !member.body || !ts.isIdentifier(member.name)) continue;
    const facts: MethodFacts = {
      own: new Set(),
      fields: new Map(),
      any: new Set(),
      commands: new Set(),
      isPublic: !(
        ts.getCombinedModifierFlags(member) &
        (ts.ModifierFlags.Private | ts.ModifierFlags.Protected)
      ),
    };
    const visit = (node: ts.Node): void => {
      if (ts.isNewExpression(node) && ts.isIdentifier(node.expression)) {
        const command = /^(\w+)Command$/.exec(node.expression.text);
        if (command) facts.commands.add(String(command[1]));
      }
      if (ts.isCallExpression(node) && ts.isPropertyAccessExpression(node.expression)) {
        const { expression: receiver, name } = node.expression;
        facts.any.add(name.text);
        if (receiver.kind === ts.SyntaxKind.ThisKeyword) facts.own.add(name.text);
        else if (
          ts.isPropertyAccessExpression(receiver) &&
          receiver.expression.kind === ts.SyntaxKind.ThisKeyword
        ) {
          const calls = facts.fields.get(receiver.name.text) ?? new Set<string>();
          calls.add(name.text);
          facts.fields.set(receiver.name.text, calls);
        }
      }
      ts.forEachChild(node, visit);
    };
    visit(member.body);
    methods.set(member.name.text, facts);
  }
  return methods;
}

/** `entries` and every method they reach through `this.m(` calls. */
function closure(methods: Map<string, MethodFacts>, entries: readonly string[]): MethodFacts[] {
  const seen = new Set<string>();
  const pending = [...entries];
  while (pending.length > 0) {
    const name = pending.pop() as string;
    if (seen.has(name)) continue;
    const facts = methods.get(name);
    if (!facts) continue;
    seen.add(name);
    pending.push(...facts.own);
  }
  return [...seen].map((name) => methods.get(name) as MethodFacts);
}

/** The IAM actions (`iam:X`) the gateway sends for `gatewayMethods`. */
function gatewayActions(gatewayMethods: Iterable<string>): Set<string> {
  const gateway = classMethods('src/adapters/iam-gateway.ts', 'AwsIamGateway');
  const actions = new Set<string>();
  for (const facts of closure(gateway, [...gatewayMethods])) {
    for (const command of facts.commands) actions.add(`iam:${command}`);
  }
  return actions;
}

/** The IAM actions a workflow entry method (`analyse`, `restore`) makes through the quarantine service. */
function workflowActions(entry: string): Set<string> {
  const workflow = classMethods('src/services/approval-workflow.ts', 'ApprovalWorkflow');
  const quarantine = classMethods('src/services/quarantine-service.ts', 'QuarantineService');
  const publicMethods = [...quarantine].filter(([, facts]) => facts.isPublic).map(([name]) => name);
  const used = new Set(
    closure(workflow, [entry]).flatMap((facts) => publicMethods.filter((name) => facts.any.has(name))),
  );
  const gatewayMethods = new Set(
    closure(quarantine, [...used]).flatMap((facts) => [...(facts.fields.get('iam') ?? [])]),
  );
  return gatewayActions(gatewayMethods);
}

/** Every command IamInventorySource sends. */
function inventoryActions(): Set<string> {
  const text = readFileSync(join(ROOT, 'src/adapters/iam-inventory.ts'), 'utf8');
  return new Set([...text.matchAll(/new (\w+)Command\(/g)].map(([, name]) => `iam:${name}`));
}

/** The member roles and the IAM actions the function using each one makes, sorted. */
export function memberRoleCalls(): Record<'quarantine' | 'restore' | 'read', string[]> {
  const sorted = (actions: Set<string>) => [...actions].sort();
  return {
    quarantine: sorted(workflowActions('analyse')),
    restore: sorted(workflowActions('restore')),
    read: sorted(inventoryActions()),
  };
}
