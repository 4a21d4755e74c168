-- wrk script: JSON lead posts to rdz-gateway, a different valid phone number per request, so
-- that no post is a double submission of another. Used by README's benchmark:
--   wrk -t2 -c16 -d15s -s tools/wrk-leads.lua http://127.0.0.1:8080/v1/leads/zr7
-- (rdz-gateway started with --rate 0: the per-IP rate limit would refuse a load generator.)
local counter = 0
local threads = 0
function setup(thread)
  thread:set("tid", threads)
  threads = threads + 1
end
request = function()
  counter = counter + 1
  -- 0600… and 0601…: valid French mobile numbers, as real forms mostly send (a number that is
  -- not valid takes libphonenumber's slow path and makes an `invalid` lead).
  local phone = string.format("06%02d%06d", tid % 2, counter % 1000000)
  local body = '{"produit":"PV","nom":"Martin","prenom":"Jean","telephone":"' .. phone ..
    '","email":"c' .. tid .. '.' .. counter .. '@exemple.fr","code_postal":"33000",' ..
    '"ville":"Bordeaux","proprietaire":"oui","type_logement":"maison","consentement":"true",' ..
    '"consentement_texte":"J\'accepte d\'être recontacté par téléphone au sujet de mon projet.",' ..
    '"page_url":"https://exemple.fr/devis?etape=3","utm_source":"google"}'
  return wrk.format("POST", nil, {["Content-Type"] = "application/json"}, body)
end
