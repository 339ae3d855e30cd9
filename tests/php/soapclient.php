<?php
// PHP's own SoapClient against the clicksms sandbox: an independent SOAP stack, so the
// sandbox is shown to accept what a real client sends and to answer what it can decode.
//
// Reads a JSON job on stdin: {"wsdl", "style": "document"|"rpc", "api_id", "user",
// "password", "numbers": [...], "voucher"}; runs one scenario through the WSDL's operations and prints
// one JSON object: for each step, what came back and the PHP type it was decoded to. Session
// IDs and the password are never printed (the test suite audits its output for them).

declare(strict_types=1);
ini_set('soap.wsdl_cache_enabled', '0');

$job = json_decode(stream_get_contents(STDIN), true, 16, JSON_THROW_ON_ERROR);
$rpc = $job['style'] === 'rpc';
$client = new SoapClient($job['wsdl'], [
    'cache_wsdl' => WSDL_CACHE_NONE,
    'exceptions' => true,
    'connection_timeout' => 10,
    // doc/literal: a <return> that may repeat stays an array even when it comes once.
    'features' => SOAP_SINGLE_ELEMENT_ARRAYS,
]);

// RPC operations take positional parts: map names to the positions the WSDL declares,
// leaving the parts not given null (SoapClient sends those as xsi:nil).
$positions = [];
foreach ($client->__getFunctions() as $signature) {
    if (preg_match('/^\S+ (\w+)\((.*)\)$/', $signature, $m)) {
        preg_match_all('/\$(\w+)/', $m[2], $names);
        $positions[$m[1]] = $names[1];
    }
}

/** Call $op with named parts; return [value, PHP type] of what it answered. */
function call(string $op, array $parts): array
{
    global $client, $rpc, $positions;
    try {
        if ($rpc) {
            $args = array_map(fn ($name) => $parts[$name] ?? null, $positions[$op]);
            $value = $client->__soapCall($op, $args);
        } else {
            $value = $client->__soapCall($op, [$parts])->return;
        }
    } catch (SoapFault $fault) {
        return ['fault' => $fault->faultcode . ': ' . $fault->getMessage()];
    }
    return ['value' => $value, 'type' => gettype($value)];
}

/** The first string of an answer, whichever shape it came in. */
function first(array $answer): string
{
    $value = $answer['value'] ?? '';
    return is_array($value) ? (string) ($value[0] ?? '') : (string) $value;
}

$out = [];
$numbers = $job['numbers'];
$creds = ['api_id' => (int) $job['api_id'], 'user' => $job['user'], 'password' => $job['password']];
$climsgid = $rpc ? 'cliMsgId' : 'climsgid';
$coverage = $rpc ? 'routeCoverage' : 'routecoverage';

$auth = call('auth', $creds);
$session = substr(first($auth), 4);
$out['auth'] = ['ok' => (bool) preg_match('/^OK: [0-9a-f]{32}$/', first($auth)), 'type' => $auth['type'] ?? null];
$s = ['session_id' => $session];

$out['ping'] = call('ping', $s);
$out['sendmsg'] = call('sendmsg', $s + ['to' => $numbers, 'text' => 'Hello from PHP €', $climsgid => 'Php1', 'concat' => 2]);
$out['sendmsg_one'] = call('sendmsg', $s + ['to' => [$numbers[0]], 'text' => 'later', 'deliv_time' => 60]);
$later = substr(first($out['sendmsg_one']), 4);
$out['querymsg'] = call('querymsg', $s + ['apimsgid' => $later]);
$out['querymsg_climsgid'] = call('querymsg', $s + ['climsgid' => 'Php1']);
$out['getmsgcharge'] = call('getmsgcharge', $s + ['apimsgid' => $later]);
$out['delmsg'] = call('delmsg', $s + ['apimsgid' => $later]);
$out['getbalance'] = call('getbalance', $creds);  // the credential triple, no session
$out['coverage'] = call($coverage, $s + ['msisdn' => $numbers[0]]);
$out['no_coverage'] = call($coverage, $s + ['msisdn' => '27820000114']);
if ($rpc) {  // an xsd:float there; the doc/literal WSDL says xsd:int
    $out['max_credits'] = call('sendmsg', $s + ['to' => [$numbers[0]], 'text' => 'cap', 'max_credits' => 1.5]);
}

$batch = call('startbatch', $s + ['template' => 'Hi #field1#, code #field2#', 'from' => 'Shop']);
$out['startbatch'] = $batch;
$batchId = substr(first($batch), 4);
$out['senditem'] = call('senditem', $s + ['batch_id' => $batchId, 'to' => [$numbers[0]], 'field1' => 'Ann', 'field2' => '42']);
$out['quicksend'] = call('quicksend', $s + ['batch_id' => $batchId, 'to' => $numbers]);
$out['endbatch'] = call('endbatch', $s + ['batch_id' => $batchId]);
$out['senditem_ended'] = call('senditem', $s + ['batch_id' => $batchId, 'to' => [$numbers[0]]]);

$out['token_pay'] = call('token_pay', $s + ['token' => $job['voucher']]);
$out['si_push'] = call('si_push', $s + [
    'to' => [$numbers[0]], 'si_id' => 'php-1', 'si_url' => 'https://example.com/u',
    'si_text' => 'Update', 'si_expires' => '2030-01-01T00:00:00Z',
]);
$out['ind_push'] = call('ind_push', $s + [
    'to' => $numbers, 'mms_subject' => 'Photo', 'mms_class' => '81', 'mms_expire' => '3600',
    'mms_from' => 'Shop', 'mms_url' => 'http://example.com/m/1',
]);
$out['expired_session'] = call('getbalance', ['session_id' => str_repeat('0', 32)]);

echo json_encode($out, JSON_UNESCAPED_UNICODE | JSON_UNESCAPED_SLASHES), "\n";
