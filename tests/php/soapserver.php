<?php
// PHP's own SoapServer fed each bundled WSDL, as a router for `php -S`: an independent SOAP
// stack that decodes what clicksms sends, so tests can check that what arrives is what the
// user meant. /…/webservice_vs.php is served from the RPC/Encoded WSDL, any other path from
// the Document/Literal one.
//
// For every request it appends one JSON line to $PHPSOAP_LOG: the style, the operation PHP
// dispatched, the SOAPAction header, the raw request, and each part as PHP decoded it (its
// PHP type and value; parts not sent are absent or null). The password is never written:
// it is recorded as "<ok>" or "<wrong>", and masked in the raw request too.
//
// It answers like Clickatell (API.md §4): sessions, message IDs, statuses, charges, coverage,
// vouchers, pushes and batches (any batch ID is good), with state between requests in $PHPSOAP_STATE (php -S runs this script anew
// for each request). Environment: PHPSOAP_WSDL_DIR, PHPSOAP_LOG, PHPSOAP_STATE,
// PHPSOAP_API_ID, PHPSOAP_USER, PHPSOAP_PASSWORD, PHPSOAP_SESSION.

declare(strict_types=1);
ini_set('soap.wsdl_cache_enabled', '0');

$rpc = str_ends_with(parse_url($_SERVER['REQUEST_URI'], PHP_URL_PATH) ?? '', 'webservice_vs.php');
$wsdl = getenv('PHPSOAP_WSDL_DIR') . ($rpc ? '/rpc_encoded_webservice_vs.wsdl' : '/document_literal.wsdl');
$raw = file_get_contents('php://input');

/** Each operation's part names in order, read from the WSDL (RPC calls are positional). */
function part_names(string $wsdl, bool $rpc): array
{
    $doc = new DOMDocument();
    $doc->load($wsdl);
    $xp = new DOMXPath($doc);
    $xp->registerNamespace('w', 'http://schemas.xmlsoap.org/wsdl/');
    $xp->registerNamespace('x', 'http://www.w3.org/2001/XMLSchema');
    $names = [];
    foreach ($xp->query('//w:portType/w:operation') as $op) {
        $message = explode(':', $xp->query('w:input', $op)->item(0)->getAttribute('message'))[1];
        $parts = [];
        if ($rpc) {
            foreach ($xp->query("//w:message[@name='$message']/w:part") as $part) {
                $parts[] = $part->getAttribute('name');
            }
        } else {
            $element = $op->getAttribute('name');
            foreach ($xp->query("//x:element[@name='$element']//x:element") as $part) {
                $parts[] = $part->getAttribute('name');
            }
        }
        $names[strtolower($op->getAttribute('name'))] = $parts;
    }
    return $names;
}

/** Operations whose answer the WSDL types as a list of strings (API.md §2.3). */
const RPC_ARRAYS = ['sendmsg', 'querymsg', 'delmsg', 'getmsgcharge', 'si_push', 'ind_push',
    'startbatch', 'senditem', 'quicksend', 'endbatch'];
const DOC_ARRAYS = ['sendmsg', 'si_push', 'ind_push', 'senditem', 'quicksend', 'token_pay'];

final class Clickatell
{
    public function __construct(private bool $rpc, private array $parts, private string $raw)
    {
    }

    public function __call(string $name, array $args): mixed
    {
        $op = strtolower($name);
        $given = [];
        if ($this->rpc) {
            foreach ($this->parts[$op] ?? [] as $i => $part) {
                if (array_key_exists($i, $args)) {
                    $given[$part] = $args[$i];
                }
            }
        } elseif (isset($args[0]) && is_object($args[0])) {
            $given = get_object_vars($args[0]);
        }
        $password = getenv('PHPSOAP_PASSWORD');
        $decoded = [];
        foreach ($given as $part => $value) {
            if ($part === 'password' && $value !== null) {
                $value = $value === $password ? '<ok>' : '<wrong>';
            }
            $decoded[$part] = ['type' => gettype($value), 'value' => $value];
        }
        $record = [
            'style' => $this->rpc ? 'rpc' : 'document',
            'op' => $name,
            'soapaction' => $_SERVER['HTTP_SOAPACTION'] ?? null,
            'body' => str_replace([$password, htmlspecialchars($password)], 'MASKED-PASSWORD', $this->raw),
            'params' => $decoded,
        ];
        file_put_contents(getenv('PHPSOAP_LOG'), json_encode($record, JSON_UNESCAPED_UNICODE) . "\n", FILE_APPEND);
        $answer = $this->answer($op, $given);
        $many = in_array($op, $this->rpc ? RPC_ARRAYS : DOC_ARRAYS, true);
        $value = $many ? (array) $answer : (is_array($answer) ? implode("\n", $answer) : $answer);
        return $this->rpc ? $value : ['return' => $value];
    }

    private function answer(string $op, array $p): string|array
    {
        $session = getenv('PHPSOAP_SESSION');
        $credentials = (string) ($p['api_id'] ?? '') === getenv('PHPSOAP_API_ID')
            && ($p['user'] ?? null) === getenv('PHPSOAP_USER')
            && ($p['password'] ?? null) === getenv('PHPSOAP_PASSWORD');
        if ($op === 'auth') {
            return $credentials ? "OK: $session" : 'ERR: 001, Authentication failed';
        }
        if (($p['session_id'] ?? null) !== $session && !$credentials) {
            return 'ERR: 001, Authentication failed';
        }
        $state = load_state();
        $answer = match ($op) {
            'ping' => 'OK:',
            'getbalance' => 'Credit: 42.5',
            'routecoverage' => 'OK: This prefix is currently supported. Messages sent to this '
                . 'prefix will be routed. Charge: 0.8',
            'sendmsg' => send($state, $p),
            'querymsg' => status($state, $p, null),
            'delmsg' => status($state, $p, '006'),
            'getmsgcharge' => isset($state['messages'][$p['apimsgid'] ?? ''])
                ? "apiMsgId: {$p['apimsgid']} charge: 1.5 status: 003"
                : 'ERR: 103, Unknown API message ID',
            'token_pay' => 'OK: 605',
            'si_push', 'ind_push', 'senditem', 'quicksend' => send($state, $p),
            'startbatch' => 'ID: ' . bin2hex(random_bytes(16)),
            'endbatch' => 'OK',
            default => 'ERR: 101, Invalid or missing parameters',
        };
        save_state($state);
        return $answer;
    }
}

function load_state(): array
{
    $file = getenv('PHPSOAP_STATE');
    return is_file($file) ? json_decode(file_get_contents($file), true) : ['messages' => [], 'clients' => []];
}

function save_state(array $state): void
{
    file_put_contents(getenv('PHPSOAP_STATE'), json_encode($state));
}

function send(array &$state, array $p): array
{
    $to = $p['to'] ?? [];
    $to = is_array($to) ? array_values($to) : [$to];
    $client = $p['cliMsgId'] ?? $p['climsgid'] ?? null;
    $answers = [];
    foreach ($to as $number) {
        $id = bin2hex(random_bytes(16));
        $state['messages'][$id] = '003';
        if ($client !== null && $client !== '') {
            $state['clients'][$client] = $id;
        }
        $answers[] = count($to) > 1 ? "ID: $id To: $number" : "ID: $id";
    }
    return $answers;
}

function status(array &$state, array $p, ?string $becomes): string
{
    $client = $p['climsgid'] ?? null;
    if ($client !== null && $client !== '') {
        $id = $state['clients'][$client] ?? null;
        if ($id === null) {
            return 'ERR: 104, Unknown client message ID';
        }
    } else {
        $id = $p['apimsgid'] ?? '';
        if (!isset($state['messages'][$id])) {
            return 'ERR: 103, Unknown API message ID';
        }
    }
    if ($becomes !== null) {
        $state['messages'][$id] = $becomes;
    }
    return "ID: $id Status: {$state['messages'][$id]}";
}

$server = new SoapServer($wsdl, ['cache_wsdl' => WSDL_CACHE_NONE, 'features' => SOAP_SINGLE_ELEMENT_ARRAYS]);
$server->setObject(new Clickatell($rpc, part_names($wsdl, $rpc), $raw));
$server->handle($raw);
