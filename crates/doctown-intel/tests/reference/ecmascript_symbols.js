// Reference symbols for TypeScript, TSX, JavaScript and JSX files, from the TypeScript
// compiler's own parser.
//
// Usage: node ecmascript_symbols.js TYPESCRIPT_PACKAGE_DIR ROOT
// Prints one JSON object per file under ROOT that the parser reads without errors:
// {"path": relative path, "symbols": [[qualified_name, kind, start_line, end_line], ...]}
// Kinds: function (declarations and overloads at any depth; functions bound to module-level
// variables), class, method (class methods, getters, setters, constructors), interface,
// type_alias, enum, module (namespaces, `declare module`), const / variable (other module-level
// bindings), and CommonJS `module.exports = …` / `exports.x = …`.
// A symbol starts at its statement's first keyword after any decorators and ends with it.
'use strict';
const fs = require('fs');
const path = require('path');

const ts = require(path.join(process.argv[2], 'lib', 'typescript.js'));
const root = process.argv[3];
const EXTENSIONS = {
  '.ts': ts.ScriptKind.TS, '.mts': ts.ScriptKind.TS, '.cts': ts.ScriptKind.TS,
  '.tsx': ts.ScriptKind.TSX,
  '.js': ts.ScriptKind.JSX, '.mjs': ts.ScriptKind.JSX, '.cjs': ts.ScriptKind.JSX,
  '.jsx': ts.ScriptKind.JSX,
};

function files(directory, out) {
  for (const entry of fs.readdirSync(directory, { withFileTypes: true }).sort((a, b) => a.name < b.name ? -1 : 1)) {
    const full = path.join(directory, entry.name);
    if (entry.isDirectory()) files(full, out);
    else if (EXTENSIONS[path.extname(entry.name)] !== undefined) out.push(full);
  }
  return out;
}

function collect(sf) {
  const symbols = [];
  const line = (position) => sf.getLineAndCharacterOfPosition(position).line + 1;

  function start(node) {
    const modifiers = ts.canHaveModifiers(node) || ts.canHaveDecorators(node) ? (node.modifiers || []) : [];
    const decorators = modifiers.filter(ts.isDecorator);
    if (decorators.length === 0) return node.getStart(sf);
    const others = modifiers.filter((m) => !ts.isDecorator(m)).map((m) => m.getStart(sf));
    if (others.length > 0) return Math.min(...others);
    return ts.skipTrivia(sf.text, decorators[decorators.length - 1].end);
  }

  function define(scopes, name, kind, node) {
    const qualified = scopes.map((s) => s.name).concat([name]).join('.');
    symbols.push([qualified, kind, line(start(node)), line(node.end - 1)]);
  }

  function propertyName(name) {
    if (ts.isIdentifier(name) || ts.isPrivateIdentifier(name) || ts.isStringLiteral(name) || ts.isNumericLiteral(name)) {
      return name.text;
    }
    return name.getText(sf);
  }

  function children(node, scopes) {
    ts.forEachChild(node, (child) => visit(child, scopes));
  }

  function isFunctionValue(node) {
    return node && (ts.isArrowFunction(node) || ts.isFunctionExpression(node));
  }

  function atModuleLevel(node) {
    return node.parent && (ts.isSourceFile(node.parent) || ts.isModuleBlock(node.parent));
  }

  function commonjs(node, scopes) {
    const expression = node.expression;
    if (!ts.isBinaryExpression(expression) || expression.operatorToken.kind !== ts.SyntaxKind.EqualsToken) return false;
    const target = expression.left.getText(sf).replace(/\s+/g, '');
    const right = expression.right;
    let name;
    if (target === 'module.exports') {
      if (!(isFunctionValue(right) || ts.isClassExpression(right))) return false;
      name = right.name ? right.name.text : 'module.exports';
    } else if (target.startsWith('module.exports.') || target.startsWith('exports.')) {
      name = target.slice(target.startsWith('exports.') ? 8 : 15);
      if (name.includes('.')) return false;
    } else {
      return false;
    }
    const kind = isFunctionValue(right) ? 'function' : ts.isClassExpression(right) ? 'class' : 'variable';
    define(scopes, name, kind, node);
    const inner = scopes.concat([{ name, kind }]);
    if (kind === 'class') right.members.forEach((member) => visit(member, inner));
    else if (kind === 'function') children(right, inner);
    return true;
  }

  function visit(node, scopes) {
    const top = scopes.length ? scopes[scopes.length - 1].kind : null;
    if (ts.isFunctionDeclaration(node)) {
      const name = node.name ? node.name.text : 'default';
      define(scopes, name, 'function', node);
      children(node, scopes.concat([{ name, kind: 'function' }]));
    } else if (ts.isClassDeclaration(node)) {
      const name = node.name ? node.name.text : 'default';
      define(scopes, name, 'class', node);
      children(node, scopes.concat([{ name, kind: 'class' }]));
    } else if ((ts.isMethodDeclaration(node) || ts.isGetAccessor(node) || ts.isSetAccessor(node) || ts.isConstructorDeclaration(node))
      && top === 'class' && ts.isClassLike(node.parent)) {
      const name = ts.isConstructorDeclaration(node) ? 'constructor' : propertyName(node.name);
      define(scopes, name, 'method', node);
      children(node, scopes.concat([{ name, kind: 'method' }]));
    } else if (ts.isInterfaceDeclaration(node)) {
      define(scopes, node.name.text, 'interface', node);
    } else if (ts.isTypeAliasDeclaration(node)) {
      define(scopes, node.name.text, 'type_alias', node);
    } else if (ts.isEnumDeclaration(node)) {
      define(scopes, node.name.text, 'enum', node);
    } else if (ts.isModuleDeclaration(node)) {
      if (ts.isGlobalScopeAugmentation(node)) {
        children(node, scopes);
        return;
      }
      const names = [node.name.text];
      let inner = node;
      while (inner.body && ts.isModuleDeclaration(inner.body)) {
        inner = inner.body;
        names.push(inner.name.text);
      }
      const name = names.join('.');
      define(scopes, name, 'module', node);
      if (inner.body) children(inner.body, scopes.concat([{ name, kind: 'module' }]));
    } else if (ts.isVariableStatement(node) && atModuleLevel(node)) {
      const isConst = (node.declarationList.flags & ts.NodeFlags.Const) !== 0;
      for (const declaration of node.declarationList.declarations) {
        if (!ts.isIdentifier(declaration.name)) {
          children(declaration, scopes);
          continue;
        }
        const name = declaration.name.text;
        const value = declaration.initializer;
        if (isFunctionValue(value)) {
          define(scopes, name, 'function', node);
          children(value, scopes.concat([{ name, kind: 'function' }]));
        } else if (value && ts.isClassExpression(value)) {
          define(scopes, name, 'class', node);
          value.members.forEach((member) => visit(member, scopes.concat([{ name, kind: 'class' }])));
        } else {
          define(scopes, name, isConst ? 'const' : 'variable', node);
          if (value) visit(value, scopes);
        }
      }
    } else if (ts.isExpressionStatement(node) && ts.isSourceFile(node.parent) && commonjs(node, scopes)) {
      // Defined by commonjs().
    } else {
      children(node, scopes);
    }
  }

  visit(sf, []);
  return symbols;
}

for (const file of files(root, [])) {
  const text = fs.readFileSync(file, 'utf8');
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, EXTENSIONS[path.extname(file)]);
  if (sf.parseDiagnostics.length > 0) continue;
  process.stdout.write(JSON.stringify({ path: path.relative(root, file), symbols: collect(sf) }) + '\n');
}
